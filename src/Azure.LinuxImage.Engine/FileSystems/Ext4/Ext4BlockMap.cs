using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>Reads and writes the ext2/ext3 indirect block map (12 direct, single, double and triple indirect).</summary>
internal static class Ext4BlockMap
{
    public static void Map(Ext4FileSystem fs, Ext4Inode inode, List<Ext4Run> runs, List<ulong> metaBlocks)
    {
        long blockCount = (inode.Size + fs.BlockSize - 1) / fs.BlockSize;
        if (blockCount > uint.MaxValue)
        {
            throw fs.Damaged($"inode {inode.Number} has a size beyond what a block map can address");
        }
        var visited = new HashSet<ulong>();
        var ptrs = inode.BlockArray;
        uint logical = 0;
        for (int i = 0; i < 12 && logical < blockCount; i++, logical++)
        {
            Add(fs, inode, runs, logical, BinaryPrimitives.ReadUInt32LittleEndian(ptrs[(i * 4)..]));
        }
        for (int level = 1; level <= 3 && logical < blockCount; level++)
        {
            uint ptr = BinaryPrimitives.ReadUInt32LittleEndian(ptrs[((11 + level) * 4)..]);
            long span = 1;
            for (int k = 0; k < level; k++)
            {
                span *= fs.BlockSize / 4;
            }
            if (ptr == 0)
            {
                logical = (uint)Math.Min(blockCount, logical + span);
                continue;
            }
            Walk(fs, inode, ptr, level, ref logical, blockCount, runs, metaBlocks, visited);
        }
    }

    private static void Walk(Ext4FileSystem fs, Ext4Inode inode, uint block, int level, ref uint logical, long blockCount, List<Ext4Run> runs, List<ulong> metaBlocks, HashSet<ulong> visited)
    {
        fs.CheckBlockRange(block, 1, inode.Number);
        if (!visited.Add(block))
        {
            throw fs.Damaged($"inode {inode.Number} has an indirect block {block} referenced twice");
        }
        metaBlocks.Add(block);
        byte[] data = fs.ReadBlock(block);
        int per = fs.BlockSize / 4;
        long childSpan = 1;
        for (int k = 1; k < level; k++)
        {
            childSpan *= per;
        }
        for (int i = 0; i < per && logical < blockCount; i++)
        {
            uint ptr = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(i * 4));
            if (level == 1)
            {
                Add(fs, inode, runs, logical, ptr);
                logical++;
            }
            else if (ptr == 0)
            {
                logical = (uint)Math.Min(blockCount, logical + childSpan);
            }
            else
            {
                Walk(fs, inode, ptr, level - 1, ref logical, blockCount, runs, metaBlocks, visited);
            }
        }
    }

    private static void Add(Ext4FileSystem fs, Ext4Inode inode, List<Ext4Run> runs, uint logical, uint physical)
    {
        if (physical == 0)
        {
            return;
        }
        fs.CheckBlockRange(physical, 1, inode.Number);
        if (runs.Count > 0)
        {
            var last = runs[^1];
            if (last.Logical + last.Length == logical && last.Physical + last.Length == physical)
            {
                runs[^1] = last with { Length = last.Length + 1 };
                return;
            }
        }
        runs.Add(new Ext4Run(logical, physical, 1));
    }

    /// <summary>How many indirect blocks a file of <paramref name="blocks"/> contiguous logical blocks needs.</summary>
    public static long MetaBlocksNeeded(long blocks, int blockSize)
    {
        long per = blockSize / 4;
        long rest = blocks - 12;
        if (rest <= 0)
        {
            return 0;
        }
        long meta = 1;
        long single = Math.Min(rest, per);
        rest -= single;
        if (rest <= 0)
        {
            return meta;
        }
        long dbl = Math.Min(rest, per * per);
        meta += 1 + ((dbl + per - 1) / per);
        rest -= dbl;
        if (rest <= 0)
        {
            return meta;
        }
        if (rest > per * per * per)
        {
            return -1;
        }
        meta += 1 + ((rest + (per * per) - 1) / (per * per)) + ((rest + per - 1) / per);
        return meta;
    }

    /// <summary>Writes a block map for data blocks numbered 0..n-1 (no holes), using the pre-allocated indirect blocks in order.</summary>
    public static void Build(Ext4FileSystem fs, Ext4Inode inode, IReadOnlyList<ulong> dataBlocks, Queue<ulong> metaBlocks)
    {
        var ptrs = inode.BlockArray;
        ptrs.Clear();
        int at = 0;
        for (int i = 0; i < 12 && at < dataBlocks.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(ptrs[(i * 4)..], (uint)dataBlocks[at++]);
        }
        for (int level = 1; level <= 3 && at < dataBlocks.Count; level++)
        {
            uint block = BuildLevel(fs, level, dataBlocks, ref at, metaBlocks);
            BinaryPrimitives.WriteUInt32LittleEndian(ptrs[((11 + level) * 4)..], block);
        }
    }

    private static uint BuildLevel(Ext4FileSystem fs, int level, IReadOnlyList<ulong> dataBlocks, ref int at, Queue<ulong> metaBlocks)
    {
        ulong self = metaBlocks.Dequeue();
        var data = new byte[fs.BlockSize];
        int per = fs.BlockSize / 4;
        for (int i = 0; i < per && at < dataBlocks.Count; i++)
        {
            uint ptr = level == 1 ? (uint)dataBlocks[at++] : BuildLevel(fs, level - 1, dataBlocks, ref at, metaBlocks);
            BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(i * 4), ptr);
        }
        fs.WriteBlock(self, data);
        return (uint)self;
    }
}
