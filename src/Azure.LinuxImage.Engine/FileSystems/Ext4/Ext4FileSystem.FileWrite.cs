using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>Replacing a file's body: freeing the old blocks, allocating and mapping the new ones (lib/ext2fs fileio.c, punch.c).</summary>
public sealed partial class Ext4FileSystem
{
    /// <summary>Replaces a regular file's contents, keeping its inode (owner, mode, xattrs, creation time).</summary>
    public unsafe void ReplaceContent(uint inodeNumber, ReadOnlySpan<byte> content)
    {
        // The content is pinned rather than copied for the change's closure: an initramfs is tens of MiB.
        fixed (byte* pinned = content)
        {
            nint address = (nint)pinned;
            int length = content.Length;
            Change(() => ReplaceContentCore(inodeNumber, new ReadOnlySpan<byte>((void*)address, length)));
        }
    }

    private int ReplaceContentCore(uint inodeNumber, ReadOnlySpan<byte> content)
    {
        var inode = ReadInode(inodeNumber);
        if (!inode.IsRegular)
        {
            throw new InvalidOperationException($"Inode {inodeNumber} is not a regular file.");
        }
        RefuseInline(inode, "the file");
        if ((inode.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            if (inode.Size == content.Length && ReadData(inode).AsSpan().SequenceEqual(content))
            {
                return 0;
            }
            Uninline(inode, content.ToArray(), $"inode {inodeNumber}");
            inode = ReadInode(inodeNumber);
            Touch(inode, modify: true);
            WriteInode(inode);
            return 0;
        }
        var (runs, mapBlocks) = MapFile(inode);
        if (inode.Size == content.Length && CommonPrefix(inode, runs, content) == content.Length)
        {
            return 0;
        }
        // The file keeps its blocks, rewritten in place where their bytes change: a file edited
        // near its start and grown at its end (an initramfs whose zstd frame header and last block
        // change) costs the blocks that differ and its new tail, not a rewrite of every block.
        long oldBlocks = (inode.Size + BlockSize - 1) / BlockSize;
        var kept = KeptRuns(runs, Math.Min(oldBlocks, content.Length / BlockSize));
        if (kept.Count == 0)
        {
            ulong goal = runs.Count > 0 ? runs[0].Physical : GoalForInode(inodeNumber);
            ReleaseBlocks(runs, mapBlocks);
            StoreData(inode, content, goal, $"inode {inodeNumber}");
        }
        else
        {
            RewriteChangedBlocks(kept, content);
            ReleaseAfter(runs, mapBlocks, kept);
            StoreTail(inode, content, kept, $"inode {inodeNumber}");
        }
        Touch(inode, modify: true);
        WriteInode(inode);
        return 0;
    }

    /// <summary>
    /// How many leading bytes of <paramref name="content"/> the file already holds, read a piece at
    /// a time (never the whole file at once); a hole or unwritten extent ends the comparison.
    /// </summary>
    private long CommonPrefix(Ext4Inode inode, List<Ext4Run> runs, ReadOnlySpan<byte> content)
    {
        long limit = Math.Min(inode.Size, content.Length);
        byte[] piece = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long done = 0;
            foreach (var run in runs.OrderBy(r => r.Logical))
            {
                if (done >= limit || (long)run.Logical * BlockSize != done || run.Uninitialized)
                {
                    break;
                }
                long runEnd = Math.Min(limit, done + ((long)run.Length * BlockSize));
                for (long at = done; at < runEnd;)
                {
                    int n = (int)Math.Min(piece.Length, runEnd - at);
                    io.ReadAt(((long)run.Physical * BlockSize) + (at - done), piece.AsSpan(0, n));
                    int same = piece.AsSpan(0, n).CommonPrefixLength(content.Slice((int)at, n));
                    if (same < n)
                    {
                        return at + same;
                    }
                    at += n;
                }
                done = runEnd;
            }
            return done;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(piece);
        }
    }

    /// <summary>Writes, in place, the kept blocks whose bytes differ from the content (read and compared a MiB at a time).</summary>
    private void RewriteChangedBlocks(List<Ext4Run> kept, ReadOnlySpan<byte> content)
    {
        var target = (IO.IWritableVolume)io;
        byte[] piece = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            foreach (var run in kept)
            {
                long runBytes = (long)run.Length * BlockSize;
                long logical = (long)run.Logical * BlockSize;
                long physical = (long)run.Physical * BlockSize;
                for (long at = 0; at < runBytes;)
                {
                    int n = (int)Math.Min(piece.Length / BlockSize * BlockSize, runBytes - at);
                    var old = piece.AsSpan(0, n);
                    io.ReadAt(physical + at, old);
                    var wanted = content.Slice((int)(logical + at), n);
                    // Neighbouring changed blocks go in one write.
                    for (int b = 0; b < n;)
                    {
                        if (old.Slice(b, BlockSize).SequenceEqual(wanted.Slice(b, BlockSize)))
                        {
                            b += BlockSize;
                            continue;
                        }
                        int end = b + BlockSize;
                        while (end < n && !old.Slice(end, BlockSize).SequenceEqual(wanted.Slice(end, BlockSize)))
                        {
                            end += BlockSize;
                        }
                        target.WriteAt(physical + at + b, wanted[b..end]);
                        b = end;
                    }
                    at += n;
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(piece);
        }
    }

    /// <summary>
    /// The runs holding the file's first <paramref name="blocks"/> blocks, cut at that block, when
    /// they are plain data from block 0 on with no hole or unwritten extent (else none: the file is
    /// written anew).
    /// </summary>
    private static List<Ext4Run> KeptRuns(List<Ext4Run> runs, long blocks)
    {
        var kept = new List<Ext4Run>();
        uint expected = 0;
        foreach (var run in runs.OrderBy(r => r.Logical))
        {
            if (expected >= blocks)
            {
                break;
            }
            if (run.Logical != expected || run.Uninitialized)
            {
                return [];
            }
            uint length = (uint)Math.Min(run.Length, blocks - expected);
            kept.Add(run with { Length = length });
            expected += length;
        }
        return expected == blocks ? kept : [];
    }

    /// <summary>Frees every block of the file past the kept runs, and its whole mapping (rebuilt by <see cref="SetMapping"/>).</summary>
    private void ReleaseAfter(List<Ext4Run> runs, List<ulong> mapBlocks, List<Ext4Run> kept)
    {
        uint keptBlocks = kept[^1].Logical + kept[^1].Length;
        foreach (var r in runs)
        {
            if (r.Logical + r.Length <= keptBlocks)
            {
                continue;
            }
            uint skip = r.Logical >= keptBlocks ? 0 : keptBlocks - r.Logical;
            FreeBlocks(r.Physical + skip, r.Length - skip);
        }
        foreach (ulong b in mapBlocks)
        {
            FreeBlocks(b, 1);
        }
    }

    /// <summary>Writes the content after the kept blocks into new blocks (after the kept ones where free) and maps both.</summary>
    private void StoreTail(Ext4Inode inode, ReadOnlySpan<byte> content, List<Ext4Run> kept, string forPath)
    {
        uint keptBlocks = kept[^1].Logical + kept[^1].Length;
        long blocks = ((long)content.Length + BlockSize - 1) / BlockSize;
        if (blocks - keptBlocks + 4 > (long)Math.Min(Superblock.FreeBlocksCount, long.MaxValue))
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4NoSpace, Source, Source, "blocks", forPath);
        }
        ulong goal = kept[^1].Physical + kept[^1].Length;
        var runs = new List<Ext4Run>(kept);
        uint logical = keptBlocks;
        foreach (var (start, length) in AllocateBlocks(blocks - keptBlocks, goal, forPath))
        {
            runs.Add(new Ext4Run(logical, start, length));
            logical += length;
        }
        WriteRuns(runs.Skip(kept.Count), content);
        if ((inode.Flags & Ext4Inode.FlagExtents) == 0 && Ext4BlockMap.MetaBlocksNeeded(blocks, BlockSize) < 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4NoSpace, Source, Source, "block map room", forPath);
        }
        SetMapping(inode, runs, goal, forPath);
        inode.Size = (long)content.Length;
    }

    private void ReleaseBlocks(List<Ext4Run> runs, List<ulong> mapBlocks)
    {
        foreach (var r in runs)
        {
            FreeBlocks(r.Physical, r.Length);
        }
        foreach (ulong b in mapBlocks)
        {
            FreeBlocks(b, 1);
        }
    }

    /// <summary>Allocates and writes a file body and its mapping into the inode (whose old blocks are already freed).</summary>
    private void StoreData(Ext4Inode inode, ReadOnlySpan<byte> content, ulong goal, string forPath)
    {
        long blocks = ((long)content.Length + BlockSize - 1) / BlockSize;
        bool extents = (inode.Flags & Ext4Inode.FlagExtents) != 0;
        long metaNeeded = extents ? 0 : Ext4BlockMap.MetaBlocksNeeded(blocks, BlockSize);
        if (metaNeeded < 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4NoSpace, Source, Source, "block map room", forPath);
        }
        if ((ulong)(blocks + metaNeeded + 4) > Superblock.FreeBlocksCount)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4NoSpace, Source, Source, "blocks", forPath);
        }
        var allocated = AllocateBlocks(blocks, goal, forPath);
        var runs = new List<Ext4Run>();
        uint logical = 0;
        foreach (var (start, length) in allocated)
        {
            runs.Add(new Ext4Run(logical, start, length));
            logical += length;
        }
        WriteRuns(runs, content);
        SetMapping(inode, runs, goal, forPath);
        inode.Size = (long)content.Length;
    }

    /// <summary>Writes the content's bytes into the runs' blocks, the last block zero-padded (no copy of the whole body).</summary>
    private void WriteRuns(IEnumerable<Ext4Run> runs, ReadOnlySpan<byte> content)
    {
        var target = (IO.IWritableVolume)io;
        foreach (var run in runs)
        {
            long offset = (long)run.Logical * BlockSize;
            long physical = (long)run.Physical * BlockSize;
            int n = (int)Math.Min((long)run.Length * BlockSize, content.Length - offset);
            int whole = n / BlockSize * BlockSize;
            if (whole > 0)
            {
                target.WriteAt(physical, content.Slice((int)offset, whole));
            }
            // The rest of the run: the partial last block and the block-aligned zeros after it.
            long padded = ((long)run.Length * BlockSize) - whole;
            if (padded > 0)
            {
                var last = new byte[padded];
                content.Slice((int)offset + whole, n - whole).CopyTo(last);
                target.WriteAt(physical + whole, last);
            }
        }
    }

    /// <summary>Writes the mapping of <paramref name="runs"/> (extent tree or indirect blocks) and the inode's block count.</summary>
    private void SetMapping(Ext4Inode inode, List<Ext4Run> runs, ulong goal, string forPath)
    {
        long dataBlocks = runs.Sum(r => (long)r.Length);
        long metaCount;
        if ((inode.Flags & Ext4Inode.FlagExtents) != 0)
        {
            var split = Ext4Extents.SplitLong(runs);
            int treeBlocks = Ext4Extents.TreeBlocksNeeded(split.Count, BlockSize);
            if (treeBlocks < 0)
            {
                throw new LinuxImageException(DiagnosticCatalog.Ext4NoSpace, Source, Source, "contiguous space (the file would need a deeper extent tree)", forPath);
            }
            var leaves = AllocateBlocks(treeBlocks, goal, forPath).SelectMany(r => Enumerable.Range(0, (int)r.Length).Select(i => r.Start + (ulong)i)).ToList();
            Ext4Extents.Build(this, inode, split, leaves);
            metaCount = leaves.Count;
        }
        else
        {
            var blocks = new List<ulong>();
            uint expected = 0;
            foreach (var r in runs)
            {
                if (r.Logical != expected)
                {
                    throw new LinuxImageException(DiagnosticCatalog.Ext4UnsupportedFeature, Source, Source, "write", $"a sparse block-mapped file ({forPath})");
                }
                for (uint i = 0; i < r.Length; i++)
                {
                    blocks.Add(r.Physical + i);
                }
                expected += r.Length;
            }
            metaCount = Ext4BlockMap.MetaBlocksNeeded(blocks.Count, BlockSize);
            var meta = new Queue<ulong>(AllocateBlocks(metaCount, goal, forPath).SelectMany(r => Enumerable.Range(0, (int)r.Length).Select(i => r.Start + (ulong)i)));
            Ext4BlockMap.Build(this, inode, blocks, meta);
        }
        long total = dataBlocks + metaCount + (inode.FileAcl != 0 ? 1 : 0);
        inode.BlocksRaw = (inode.Flags & Ext4Inode.FlagHugeFile) != 0 ? (ulong)total : (ulong)(total * SectorsPerBlock);
    }
}
