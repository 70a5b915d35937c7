using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>Replacing a file's body: freeing the old blocks, allocating and mapping the new ones (lib/ext2fs fileio.c, punch.c).</summary>
public sealed partial class Ext4FileSystem
{
    /// <summary>Replaces a regular file's contents, keeping its inode (owner, mode, xattrs, creation time).</summary>
    public void ReplaceContent(uint inodeNumber, ReadOnlySpan<byte> content)
    {
        byte[] copy = content.ToArray();
        Change(() =>
        {
            var inode = ReadInode(inodeNumber);
            if (!inode.IsRegular)
            {
                throw new InvalidOperationException($"Inode {inodeNumber} is not a regular file.");
            }
            RefuseInline(inode, "the file");
            if (inode.Size == copy.Length && ReadData(inode).AsSpan().SequenceEqual(copy))
            {
                return 0;
            }
            if ((inode.Flags & Ext4Inode.FlagInlineData) != 0)
            {
                Uninline(inode, copy, $"inode {inodeNumber}");
                inode = ReadInode(inodeNumber);
                Touch(inode, modify: true);
                WriteInode(inode);
                return 0;
            }
            var (runs, mapBlocks) = MapFile(inode);
            ulong goal = runs.Count > 0 ? runs[0].Physical : GoalForInode(inodeNumber);
            ReleaseBlocks(runs, mapBlocks);
            StoreData(inode, copy, goal, $"inode {inodeNumber}");
            Touch(inode, modify: true);
            WriteInode(inode);
            return 0;
        });
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
    private void StoreData(Ext4Inode inode, byte[] content, ulong goal, string forPath)
    {
        long blocks = (content.LongLength + BlockSize - 1) / BlockSize;
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
        foreach (var run in runs)
        {
            long offset = (long)run.Logical * BlockSize;
            int n = (int)Math.Min((long)run.Length * BlockSize, content.LongLength - offset);
            var buffer = new byte[(long)run.Length * BlockSize];
            content.AsSpan((int)offset, n).CopyTo(buffer);
            ((IO.IWritableVolume)io).WriteAt((long)run.Physical * BlockSize, buffer);
        }
        SetMapping(inode, runs, goal, forPath);
        inode.Size = content.LongLength;
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
