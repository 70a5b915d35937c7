using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>A run of a file's logical blocks stored contiguously on disk.</summary>
public readonly record struct Ext4Run(uint Logical, ulong Physical, uint Length, bool Uninitialized = false);

/// <summary>Reads and writes ext4 extent trees.</summary>
internal static class Ext4Extents
{
    public const ushort HeaderMagic = 0xF30A;
    public const int MaxInitializedLength = 32768;
    private const int MaxDepth = 5;

    /// <summary>
    /// Maps the tree rooted in the inode. Every node is checked (magic, counts, depth strictly
    /// decreasing, blocks inside the file system, no block visited twice, logical order) so that a
    /// damaged tree is reported instead of looping or reading outside the volume.
    /// </summary>
    public static void Map(Ext4FileSystem fs, Ext4Inode inode, List<Ext4Run> runs, List<ulong> treeBlocks)
    {
        var visited = new HashSet<ulong>();
        uint nextLogical = 0;
        Walk(fs, inode, inode.BlockArray.ToArray(), -1, runs, treeBlocks, visited, ref nextLogical);
    }

    private static void Walk(Ext4FileSystem fs, Ext4Inode inode, byte[] node, int expectedDepth, List<Ext4Run> runs, List<ulong> treeBlocks, HashSet<ulong> visited, ref uint nextLogical)
    {
        if (BinaryPrimitives.ReadUInt16LittleEndian(node) != HeaderMagic)
        {
            throw fs.Damaged($"inode {inode.Number} has an extent node without the extent magic");
        }
        int entries = BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(2));
        int max = BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(4));
        int depth = BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(6));
        if (max > (node.Length - 12) / 12 || entries > max || depth > MaxDepth || (expectedDepth >= 0 && depth != expectedDepth))
        {
            throw fs.Damaged($"inode {inode.Number} has an extent node with invalid counts (entries {entries}, max {max}, depth {depth})");
        }
        for (int i = 0; i < entries; i++)
        {
            var e = node.AsSpan(12 + (i * 12), 12);
            uint logical = BinaryPrimitives.ReadUInt32LittleEndian(e);
            if (logical < nextLogical)
            {
                throw fs.Damaged($"inode {inode.Number} has extents out of order or overlapping at logical block {logical}");
            }
            if (depth == 0)
            {
                int len = BinaryPrimitives.ReadUInt16LittleEndian(e[4..]);
                bool uninit = len > MaxInitializedLength;
                if (uninit)
                {
                    len -= MaxInitializedLength;
                }
                ulong start = ((ulong)BinaryPrimitives.ReadUInt16LittleEndian(e[6..]) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(e[8..]);
                if (len == 0 || (ulong)logical + (ulong)len > uint.MaxValue)
                {
                    throw fs.Damaged($"inode {inode.Number} has an extent of invalid length at logical block {logical}");
                }
                fs.CheckBlockRange(start, (uint)len, inode.Number);
                runs.Add(new Ext4Run(logical, start, (uint)len, uninit));
                nextLogical = logical + (uint)len;
            }
            else
            {
                ulong child = BinaryPrimitives.ReadUInt32LittleEndian(e[4..]) | ((ulong)BinaryPrimitives.ReadUInt16LittleEndian(e[8..]) << 32);
                fs.CheckBlockRange(child, 1, inode.Number);
                if (!visited.Add(child))
                {
                    throw fs.Damaged($"inode {inode.Number} has an extent tree that references block {child} twice (a loop)");
                }
                treeBlocks.Add(child);
                byte[] block = fs.ReadBlock(child);
                fs.VerifyExtentBlockChecksum(inode, block, child);
                Walk(fs, inode, block, depth - 1, runs, treeBlocks, visited, ref nextLogical);
            }
        }
    }

    /// <summary>Splits runs so that none exceeds the longest initialized extent.</summary>
    public static List<Ext4Run> SplitLong(IEnumerable<Ext4Run> runs)
    {
        var result = new List<Ext4Run>();
        foreach (var r in runs)
        {
            uint done = 0;
            while (done < r.Length)
            {
                uint n = Math.Min(r.Length - done, MaxInitializedLength);
                result.Add(new Ext4Run(r.Logical + done, r.Physical + done, n, r.Uninitialized));
                done += n;
            }
        }
        return result;
    }

    /// <summary>How many tree blocks a file with this many extents needs (depth 0 or 1).</summary>
    public static int TreeBlocksNeeded(int extentCount, int blockSize)
    {
        if (extentCount <= 4)
        {
            return 0;
        }
        int perLeaf = (blockSize - 12) / 12;
        int leaves = (extentCount + perLeaf - 1) / perLeaf;
        return leaves <= 4 ? leaves : -1;
    }

    /// <summary>Writes the tree for <paramref name="runs"/> into the inode, using the given (already allocated) leaf blocks.</summary>
    public static void Build(Ext4FileSystem fs, Ext4Inode inode, IReadOnlyList<Ext4Run> runs, IReadOnlyList<ulong> leafBlocks)
    {
        var root = inode.BlockArray;
        root.Clear();
        if (leafBlocks.Count == 0)
        {
            WriteHeader(root, runs.Count, 4, 0);
            for (int i = 0; i < runs.Count; i++)
            {
                WriteLeafEntry(root[(12 + (i * 12))..], runs[i]);
            }
            return;
        }
        int perLeaf = (fs.BlockSize - 12) / 12;
        WriteHeader(root, leafBlocks.Count, 4, 1);
        for (int l = 0; l < leafBlocks.Count; l++)
        {
            var block = new byte[fs.BlockSize];
            int first = l * perLeaf;
            int count = Math.Min(perLeaf, runs.Count - first);
            WriteHeader(block, count, perLeaf, 0);
            for (int i = 0; i < count; i++)
            {
                WriteLeafEntry(block.AsSpan(12 + (i * 12)), runs[first + i]);
            }
            fs.SetExtentBlockChecksum(inode, block);
            fs.WriteBlock(leafBlocks[l], block);
            var idx = root[(12 + (l * 12))..];
            BinaryPrimitives.WriteUInt32LittleEndian(idx, runs[first].Logical);
            BinaryPrimitives.WriteUInt32LittleEndian(idx[4..], (uint)leafBlocks[l]);
            BinaryPrimitives.WriteUInt16LittleEndian(idx[8..], (ushort)(leafBlocks[l] >> 32));
        }
    }

    private static void WriteHeader(Span<byte> node, int entries, int max, int depth)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(node, HeaderMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(node[2..], (ushort)entries);
        BinaryPrimitives.WriteUInt16LittleEndian(node[4..], (ushort)max);
        BinaryPrimitives.WriteUInt16LittleEndian(node[6..], (ushort)depth);
        BinaryPrimitives.WriteUInt32LittleEndian(node[8..], 0);
    }

    private static void WriteLeafEntry(Span<byte> e, Ext4Run run)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(e, run.Logical);
        BinaryPrimitives.WriteUInt16LittleEndian(e[4..], (ushort)(run.Length + (run.Uninitialized ? MaxInitializedLength : 0)));
        BinaryPrimitives.WriteUInt16LittleEndian(e[6..], (ushort)(run.Physical >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(e[8..], (uint)run.Physical);
    }
}
