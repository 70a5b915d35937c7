using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// One change to the file system, prepared entirely in memory: the allocation groups it touches,
/// the inodes and blocks it rewrites and the superblock counters it moves. Nothing reaches the
/// volume until <see cref="Commit"/>, after every structure has been laid out, so a refusal or a
/// damage found on the way leaves the volume as it was.
/// </summary>
internal sealed class XfsTransaction(XfsFileSystem fs)
{
    private readonly Dictionary<uint, XfsAgState> groups = [];
    private readonly List<(long Offset, byte[] Data)> writes = [];
    private readonly Dictionary<ulong, byte[]> inodeImages = [];

    public long FreeInodeDelta { get; set; }

    public long InodeCountDelta { get; set; }

    public XfsAgState Ag(uint agno)
    {
        if (!groups.TryGetValue(agno, out var state))
        {
            state = new XfsAgState(fs, agno);
            groups[agno] = state;
        }
        return state;
    }

    public void Write(long offset, byte[] data) => writes.Add((offset, data));

    /// <summary>Stages an inode image (its CRC is set at commit).</summary>
    public void Inode(ulong number, byte[] raw) => inodeImages[number] = raw;

    public byte[]? StagedInode(ulong number) => inodeImages.GetValueOrDefault(number);

    public (uint Ag, uint AgBlock) Split(ulong linear) => ((uint)(linear / fs.Superblock.AgBlocks), (uint)(linear % fs.Superblock.AgBlocks));

    public ulong Linear(uint agno, uint agbno) => ((ulong)agno * fs.Superblock.AgBlocks) + agbno;

    /// <summary>
    /// Allocates <paramref name="count"/> blocks for fork blocks from <paramref name="logical"/> of
    /// <paramref name="owner"/>, preferring the block after <paramref name="nearLinear"/> and its
    /// group, then any group; returns linear extents, with reverse mappings added.
    /// </summary>
    public List<XfsExtent> Allocate(ulong owner, ulong logical, ulong count, ulong? nearLinear, uint preferredAg, ulong rmapFlags = 0)
    {
        var sb = fs.Superblock;
        var result = new List<XfsExtent>();
        ulong done = 0;
        var order = Enumerable.Range(0, (int)sb.AgCount).Select(a => (uint)a).OrderBy(a => a == preferredAg ? 0 : 1).ThenBy(a => a).ToList();
        foreach (uint agno in order)
        {
            var ag = Ag(agno);
            uint? near = null;
            if (nearLinear is ulong n && Split(n).Ag == agno)
            {
                near = Split(n).AgBlock;
            }
            // Leave the AG room for its free list and btree growth, as the kernel's reservation does.
            while (done < count && ag.Free.Sum(f => (long)f.Length) > 16)
            {
                uint want = (uint)Math.Min(count - done, 1UL << 20);
                var got = ag.Allocate(want, near);
                if (got is null)
                {
                    break;
                }
                var (start, length) = got.Value;
                ag.Rmaps?.Add(start, length, owner, (rmapFlags & XfsRmap.FlagBmbt) != 0 ? rmapFlags : (logical + done) | rmapFlags);
                var ext = new XfsExtent(logical + done, Linear(agno, start), length, false);
                if (result.Count > 0 && result[^1].Physical + result[^1].Length == ext.Physical)
                {
                    result[^1] = result[^1] with { Length = result[^1].Length + length };
                }
                else
                {
                    result.Add(ext);
                }
                done += length;
                near = start + length;
            }
            if (done == count)
            {
                return result;
            }
        }
        throw new LinuxImageException(DiagnosticCatalog.XfsNoSpace, fs.Source, fs.Source, $"inode {owner}", $"{count} blocks ({done} found free)");
    }

    /// <summary>Frees a linear extent of a fork of <paramref name="owner"/> and its reverse mapping.</summary>
    public void Free(ulong owner, ulong physical, ulong length)
    {
        var (agno, agbno) = Split(physical);
        var ag = Ag(agno);
        ag.FreeExtent(agbno, (uint)length);
        ag.Rmaps?.Remove(agbno, (uint)length, owner);
    }

    /// <summary>sb_versionnum bits to turn on in the primary superblock (ATTRBIT on a v4 file system's first attribute, as the kernel's xfs_add_attr).</summary>
    public ushort AddVersionBits { get; set; }

    /// <summary>Lays everything out, then writes: AG structures, inodes, blocks, the superblock counters.</summary>
    public void Commit(IWritableVolume target)
    {
        var sb = fs.Superblock;
        var all = new List<(long Offset, byte[] Data)>();
        long freeBlocksDelta = 0;
        foreach (var ag in groups.Values)
        {
            var (agWrites, delta) = ag.Commit();
            all.AddRange(agWrites);
            freeBlocksDelta += delta;
        }
        // Blocks first: a new inode chunk's initialised inodes go before the inode images in it.
        all.AddRange(writes);
        foreach (var (number, raw) in inodeImages)
        {
            if (raw[4] >= 3)
            {
                XfsChecksum.Update(raw, XfsInode.CrcOffset);
            }
            all.Add((fs.InodeOffset(number), raw));
        }
        byte[]? super = null;
        if (freeBlocksDelta != 0 || FreeInodeDelta != 0 || InodeCountDelta != 0 || AddVersionBits != 0)
        {
            super = fs.ReadBytes(0, sb.SectorSize);
            BinaryPrimitives.WriteUInt16BigEndian(super.AsSpan(100), (ushort)(sb.VersionNumber | AddVersionBits));
            BinaryPrimitives.WriteUInt64BigEndian(super.AsSpan(128), (ulong)((long)sb.InodeCount + InodeCountDelta));
            BinaryPrimitives.WriteUInt64BigEndian(super.AsSpan(136), (ulong)((long)sb.FreeInodes + FreeInodeDelta));
            BinaryPrimitives.WriteUInt64BigEndian(super.AsSpan(144), (ulong)((long)sb.FreeDataBlocks + freeBlocksDelta));
            if (sb.IsV5)
            {
                XfsChecksum.Update(super, XfsSuperblock.CrcOffset);
            }
            all.Add((0, super));
        }
        foreach (var (offset, data) in all)
        {
            target.WriteAt(offset, data);
        }
        fs.Committed(super, inodeImages.Keys);
    }
}
