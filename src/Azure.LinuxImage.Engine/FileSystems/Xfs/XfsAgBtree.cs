using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// The shape of one per-AG btree with short (32-bit) block pointers: free space by block (bnobt)
/// and by size (cntbt), reverse mappings (rmapbt, whose nodes keep a low and a high key per
/// child), inodes (inobt, finobt) and reference counts (refcountbt).
/// </summary>
internal sealed record XfsAgBtreeKind(string Name, uint MagicV4, uint MagicV5, int RecordSize, int KeySize, bool Overlapping)
{
    public static readonly XfsAgBtreeKind Bno = new("free-space (by block)", 0x41425442, 0x41423342, 8, 8, false);
    public static readonly XfsAgBtreeKind Cnt = new("free-space (by size)", 0x41425443, 0x41423343, 8, 8, false);
    public static readonly XfsAgBtreeKind Rmap = new("reverse-mapping", 0, 0x524D4233, 24, 20, true);
    public static readonly XfsAgBtreeKind Inobt = new("inode", 0x49414254, 0x49414233, 16, 4, false);
    public static readonly XfsAgBtreeKind Finobt = new("free-inode", 0x46494254, 0x46494233, 16, 4, false);
    public static readonly XfsAgBtreeKind Refcount = new("reference-count", 0, 0x52334643, 12, 4, false);
}

/// <summary>
/// Reads a whole short-pointer AG btree (every block checked and visited once) and builds one
/// from sorted records into given blocks. Writers change records in memory and rebuild the tree
/// into the blocks it had (plus or minus what the record count needs), as xfs_repair rebuilds:
/// leaves are filled evenly so every non-root block keeps at least half its capacity.
/// </summary>
internal static class XfsAgBtree
{
    public const uint NullBlock = 0xFFFFFFFF;
    public const int HeaderV5 = 56, HeaderV4 = 16, CrcOffset = 52;
    private const int MaxLevels = 9;

    public static int Header(XfsSuperblock sb) => sb.IsV5 ? HeaderV5 : HeaderV4;

    public static int LeafCapacity(XfsSuperblock sb, XfsAgBtreeKind kind) => (sb.BlockSize - Header(sb)) / kind.RecordSize;

    public static int NodeCapacity(XfsSuperblock sb, XfsAgBtreeKind kind) => (sb.BlockSize - Header(sb)) / ((kind.Overlapping ? 2 * kind.KeySize : kind.KeySize) + 4);

    /// <summary>The records in key order and every block of the tree rooted at <paramref name="root"/>.</summary>
    public static (List<byte[]> Records, List<uint> Blocks) Read(XfsFileSystem fs, uint agno, uint root, int levels, XfsAgBtreeKind kind)
    {
        var sb = fs.Superblock;
        uint length = XfsAgHeaders.AgLength(sb, agno);
        if (levels < 1 || levels > MaxLevels || root == 0 || root >= length)
        {
            throw fs.Damaged($"the {kind.Name} btree of allocation group {agno} has root {root} at level {levels}");
        }
        var records = new List<byte[]>();
        var blocks = new List<uint>();
        var visited = new HashSet<uint>();
        int header = Header(sb);
        void Walk(uint agbno, int level)
        {
            if (agbno == 0 || agbno >= length || !visited.Add(agbno))
            {
                throw fs.Damaged($"the {kind.Name} btree of allocation group {agno} reaches block {agbno} twice or outside the group");
            }
            blocks.Add(agbno);
            byte[] block = fs.ReadBlocks(((ulong)agno * sb.AgBlocks) + agbno, 1);
            uint magic = BinaryPrimitives.ReadUInt32BigEndian(block);
            if (magic != (sb.IsV5 ? kind.MagicV5 : kind.MagicV4))
            {
                throw fs.Damaged($"the {kind.Name} btree of allocation group {agno} has block {agbno} with magic 0x{magic:X8}");
            }
            if (sb.IsV5 && (!XfsChecksum.Verify(block, CrcOffset) || !block.AsSpan(32, 16).SequenceEqual(sb.MetadataUuid) ||
                BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(48)) != agno))
            {
                throw fs.Damaged($"the {kind.Name} btree of allocation group {agno} has block {agbno} that fails its checksum or names another owner");
            }
            int blockLevel = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(4));
            int count = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(6));
            int capacity = level == 0 ? LeafCapacity(sb, kind) : NodeCapacity(sb, kind);
            if (blockLevel != level || count > capacity || (level > 0 && count == 0))
            {
                throw fs.Damaged($"the {kind.Name} btree of allocation group {agno} has block {agbno} at level {blockLevel} (expected {level}) with {count} records");
            }
            if (level == 0)
            {
                for (int i = 0; i < count; i++)
                {
                    records.Add(block.AsSpan(header + (i * kind.RecordSize), kind.RecordSize).ToArray());
                }
                return;
            }
            int ptrs = header + (capacity * (kind.Overlapping ? 2 * kind.KeySize : kind.KeySize));
            for (int i = 0; i < count; i++)
            {
                Walk(BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(ptrs + (i * 4))), level - 1);
            }
        }
        Walk(root, levels - 1);
        return (records, blocks);
    }

    /// <summary>Blocks per level (leaves first) of a tree holding <paramref name="records"/> records.</summary>
    public static List<int> Shape(XfsSuperblock sb, XfsAgBtreeKind kind, int records)
    {
        var shape = new List<int>();
        int leafCap = LeafCapacity(sb, kind), nodeCap = NodeCapacity(sb, kind);
        int n = Math.Max(1, (records + leafCap - 1) / leafCap);
        shape.Add(n);
        while (n > 1)
        {
            n = (n + nodeCap - 1) / nodeCap;
            shape.Add(n);
        }
        return shape;
    }

    public static int BlocksNeeded(XfsSuperblock sb, XfsAgBtreeKind kind, int records) => Shape(sb, kind, records).Sum();

    /// <summary>
    /// Lays sorted <paramref name="records"/> out into <paramref name="blocks"/> (exactly
    /// <see cref="BlocksNeeded"/> of them, used in order); returns the root, the level count and
    /// the block images (CRCs set).
    /// </summary>
    public static (uint Root, int Levels, List<(uint Block, byte[] Image)> Images) Build(XfsFileSystem fs, uint agno, XfsAgBtreeKind kind, IReadOnlyList<byte[]> records, IReadOnlyList<uint> blocks)
    {
        var sb = fs.Superblock;
        var shape = Shape(sb, kind, records.Count);
        if (blocks.Count != shape.Sum())
        {
            throw new InvalidOperationException($"{kind.Name} btree needs {shape.Sum()} blocks, given {blocks.Count}");
        }
        int header = Header(sb);
        int keyBytes = kind.Overlapping ? 2 * kind.KeySize : kind.KeySize;
        var images = new List<(uint Block, byte[] Image)>();
        int next = 0;
        // (block, low key, high key) of the level below.
        var children = new List<(uint Block, byte[] Low, byte[] High)>();
        for (int level = 0; level < shape.Count; level++)
        {
            int count = shape[level];
            int items = level == 0 ? records.Count : children.Count;
            int capacity = level == 0 ? LeafCapacity(sb, kind) : NodeCapacity(sb, kind);
            var made = new List<(uint Block, byte[] Low, byte[] High)>();
            int taken = 0;
            for (int b = 0; b < count; b++)
            {
                // Even split: the first (items % count) blocks take one more.
                int here = (items / count) + (b < items % count ? 1 : 0);
                uint agbno = blocks[next + b];
                var image = new byte[sb.BlockSize];
                BinaryPrimitives.WriteUInt32BigEndian(image, sb.IsV5 ? kind.MagicV5 : kind.MagicV4);
                BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(4), (ushort)level);
                BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(6), (ushort)here);
                BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(8), b == 0 ? NullBlock : blocks[next + b - 1]);
                BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(12), b == count - 1 ? NullBlock : blocks[next + b + 1]);
                if (sb.IsV5)
                {
                    BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(16), (((ulong)agno * sb.AgBlocks) + agbno) << (sb.BlockLog - 9));
                    sb.MetadataUuid.CopyTo(image.AsSpan(32));
                    BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(48), agno);
                }
                byte[]? low = null, high = null;
                for (int i = 0; i < here; i++)
                {
                    if (level == 0)
                    {
                        var rec = records[taken + i];
                        rec.CopyTo(image.AsSpan(header + (i * kind.RecordSize)));
                        low ??= LowKey(kind, rec);
                        var h = HighKey(kind, rec);
                        if (high is null || CompareKeys(kind, h, high) > 0)
                        {
                            high = h;
                        }
                    }
                    else
                    {
                        var child = children[taken + i];
                        child.Low.CopyTo(image.AsSpan(header + (i * keyBytes)));
                        if (kind.Overlapping)
                        {
                            child.High.CopyTo(image.AsSpan(header + (i * keyBytes) + kind.KeySize));
                        }
                        BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(header + (capacity * keyBytes) + (i * 4)), child.Block);
                        low ??= child.Low;
                        if (high is null || CompareKeys(kind, child.High, high) > 0)
                        {
                            high = child.High;
                        }
                    }
                }
                taken += here;
                if (sb.IsV5)
                {
                    XfsChecksum.Update(image, CrcOffset);
                }
                images.Add((agbno, image));
                made.Add((agbno, low ?? new byte[kind.KeySize], high ?? new byte[kind.KeySize]));
            }
            next += count;
            children = made;
        }
        return (children[0].Block, shape.Count, images);
    }

    private static byte[] LowKey(XfsAgBtreeKind kind, byte[] rec)
    {
        if (kind == XfsAgBtreeKind.Rmap)
        {
            var key = new byte[20];
            rec.AsSpan(0, 4).CopyTo(key);
            rec.AsSpan(8, 16).CopyTo(key.AsSpan(4));
            // The key's offset carries the fork and bmbt flags but not the unwritten one.
            BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(12), BinaryPrimitives.ReadUInt64BigEndian(key.AsSpan(12)) & ~XfsRmap.FlagUnwritten);
            return key;
        }
        return rec.AsSpan(0, kind.KeySize).ToArray();
    }

    private static byte[] HighKey(XfsAgBtreeKind kind, byte[] rec)
    {
        var key = LowKey(kind, rec);
        if (kind == XfsAgBtreeKind.Rmap)
        {
            uint adjust = BinaryPrimitives.ReadUInt32BigEndian(rec.AsSpan(4)) - 1;
            BinaryPrimitives.WriteUInt32BigEndian(key, BinaryPrimitives.ReadUInt32BigEndian(key) + adjust);
            ulong owner = BinaryPrimitives.ReadUInt64BigEndian(key.AsSpan(4));
            ulong offset = BinaryPrimitives.ReadUInt64BigEndian(key.AsSpan(12));
            if (!XfsRmap.IsSpecialOwner(owner) && (offset & XfsRmap.FlagBmbt) == 0)
            {
                BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(12), offset + adjust);
            }
        }
        return key;
    }

    private static int CompareKeys(XfsAgBtreeKind kind, byte[] a, byte[] b)
    {
        if (kind != XfsAgBtreeKind.Rmap)
        {
            return a.AsSpan().SequenceCompareTo(b);
        }
        int c = BinaryPrimitives.ReadUInt32BigEndian(a).CompareTo(BinaryPrimitives.ReadUInt32BigEndian(b));
        if (c == 0)
        {
            c = BinaryPrimitives.ReadUInt64BigEndian(a.AsSpan(4)).CompareTo(BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(4)));
        }
        if (c == 0)
        {
            c = (BinaryPrimitives.ReadUInt64BigEndian(a.AsSpan(12)) & XfsRmap.OffsetMask).CompareTo(BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(12)) & XfsRmap.OffsetMask);
        }
        return c;
    }
}
