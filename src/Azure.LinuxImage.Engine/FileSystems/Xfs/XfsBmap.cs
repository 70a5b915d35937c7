using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// The block map of a fork: an extent list in the inode, or a bmap btree (root in the inode,
/// long-format blocks "BMA3"/"BMAP" below). Every block is checked (magic, CRC, owner, level) and
/// visited once, so a damaged tree cannot loop.
/// </summary>
internal static class XfsBmap
{
    public const uint MagicV5 = 0x424D4133, MagicV4 = 0x424D4150; // "BMA3", "BMAP"
    public const int LongHeaderV5 = 72, LongHeaderV4 = 24, LongCrcOffset = 64, LongOwnerOffset = 56;
    private const int MaxLevels = 9;

    /// <summary>The extents of the data fork (<paramref name="attr"/> false) or the attribute fork, sorted and checked.</summary>
    public static List<XfsExtent> Map(XfsFileSystem fs, XfsInode inode, bool attr) => Map(fs, inode, attr, null);

    /// <summary>As <see cref="Map(XfsFileSystem, XfsInode, bool)"/>, also listing the linear numbers of the bmbt's blocks.</summary>
    public static List<XfsExtent> Map(XfsFileSystem fs, XfsInode inode, bool attr, List<ulong>? btreeBlocks)
    {
        var format = attr ? inode.AttrFormat : inode.Format;
        var fork = attr ? inode.AttrFork : inode.DataFork;
        ulong expected = attr ? inode.AttrExtents : inode.DataExtents;
        string which = attr ? "attribute" : "data";
        var result = new List<XfsExtent>();
        switch (format)
        {
            case XfsForkFormat.Extents:
                if (expected > (ulong)(fork.Length / XfsExtent.RecordSize))
                {
                    throw fs.Damaged($"inode {inode.Number} claims {expected} {which} extents in a fork of {fork.Length} bytes");
                }
                for (int i = 0; i < (int)expected; i++)
                {
                    result.Add(fs.ToExtent(inode.Number, fork.Slice(i * XfsExtent.RecordSize, XfsExtent.RecordSize)));
                }
                break;
            case XfsForkFormat.Btree:
                WalkRoot(fs, inode, fork, which, result, btreeBlocks);
                break;
            default:
                throw fs.Damaged($"inode {inode.Number} has {which} fork format {format} where extents are expected");
        }
        if ((ulong)result.Count != expected)
        {
            throw fs.Damaged($"inode {inode.Number} claims {expected} {which} extents but maps {result.Count}");
        }
        result.Sort((a, b) => a.Logical.CompareTo(b.Logical));
        for (int i = 1; i < result.Count; i++)
        {
            if (result[i - 1].Logical + result[i - 1].Length > result[i].Logical)
            {
                throw fs.Damaged($"inode {inode.Number} has overlapping {which} extents at fork block {result[i].Logical}");
            }
        }
        return result;
    }

    private static void WalkRoot(XfsFileSystem fs, XfsInode inode, ReadOnlySpan<byte> fork, string which, List<XfsExtent> result, List<ulong>? btreeBlocks)
    {
        if (fork.Length < 4)
        {
            throw fs.Damaged($"inode {inode.Number} has a {which} btree root too small to hold a header");
        }
        int level = BinaryPrimitives.ReadUInt16BigEndian(fork);
        int count = BinaryPrimitives.ReadUInt16BigEndian(fork[2..]);
        int maxRecords = (fork.Length - 4) / 16;
        if (level == 0 || level > MaxLevels || count == 0 || count > maxRecords)
        {
            throw fs.Damaged($"inode {inode.Number} has a {which} btree root of level {level} with {count} records");
        }
        var visited = new HashSet<ulong>();
        int ptrs = 4 + (maxRecords * 8);
        for (int i = 0; i < count; i++)
        {
            ulong child = BinaryPrimitives.ReadUInt64BigEndian(fork[(ptrs + (i * 8))..]);
            Walk(fs, inode, child, level - 1, which, visited, result);
        }
        btreeBlocks?.AddRange(visited);
    }

    private static void Walk(XfsFileSystem fs, XfsInode inode, ulong fsblock, int level, string which, HashSet<ulong> visited, List<XfsExtent> result)
    {
        var sb = fs.Superblock;
        ulong linear = fs.CheckedBlock(fsblock, 1, inode.Number);
        if (!visited.Add(linear))
        {
            throw fs.Damaged($"inode {inode.Number} has a {which} btree that reaches block {linear} twice (a loop)");
        }
        byte[] block = fs.ReadBlocks(linear, 1);
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(block);
        int header = sb.IsV5 ? LongHeaderV5 : LongHeaderV4;
        if (magic != (sb.IsV5 ? MagicV5 : MagicV4))
        {
            throw fs.Damaged($"inode {inode.Number} has a {which} btree block {linear} with a wrong magic number");
        }
        if (sb.IsV5 && (!XfsChecksum.Verify(block, LongCrcOffset) || BinaryPrimitives.ReadUInt64BigEndian(block.AsSpan(LongOwnerOffset)) != inode.Number ||
            !block.AsSpan(40, 16).SequenceEqual(sb.MetadataUuid)))
        {
            throw fs.Damaged($"inode {inode.Number} has a {which} btree block {linear} that fails its checksum or names another owner");
        }
        int blockLevel = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(4));
        int count = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(6));
        int maxRecords = (block.Length - header) / 16;
        if (blockLevel != level || count == 0 || count > maxRecords)
        {
            throw fs.Damaged($"inode {inode.Number} has a {which} btree block {linear} at level {blockLevel} (expected {level}) with {count} records");
        }
        if (level == 0)
        {
            for (int i = 0; i < count; i++)
            {
                result.Add(fs.ToExtent(inode.Number, block.AsSpan(header + (i * XfsExtent.RecordSize), XfsExtent.RecordSize)));
            }
            return;
        }
        int ptrs = header + (maxRecords * 8);
        for (int i = 0; i < count; i++)
        {
            Walk(fs, inode, BinaryPrimitives.ReadUInt64BigEndian(block.AsSpan(ptrs + (i * 8))), level - 1, which, visited, result);
        }
    }
}
