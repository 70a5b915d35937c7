using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>Where a tree starts: its root block, the level the block must have, and the generation it must carry.</summary>
internal readonly record struct BtrfsRoot(ulong Bytenr, byte Level, ulong Generation);

/// <summary>One leaf item: its key and its data inside the leaf block.</summary>
internal readonly record struct BtrfsLeafItem(BtrfsKey Key, ReadOnlyMemory<byte> Data);

/// <summary>A checked tree block (struct btrfs_header, then items or key pointers).</summary>
internal sealed class BtrfsNode
{
    public const int HeaderSize = 101;
    public const int ItemSize = 25;
    public const int KeyPtrSize = 33;

    public BtrfsNode(byte[] data, ulong bytenr, byte level, int count)
    {
        Data = data;
        Bytenr = bytenr;
        Level = level;
        Count = count;
    }

    public byte[] Data { get; }

    public ulong Bytenr { get; }

    public byte Level { get; }

    public int Count { get; }

    public BtrfsKey Key(int i) => BtrfsKey.Read(Data.AsSpan(HeaderSize + (i * (Level == 0 ? ItemSize : KeyPtrSize))));

    public ulong ChildBytenr(int i) => BinaryPrimitives.ReadUInt64LittleEndian(Data.AsSpan(HeaderSize + (i * KeyPtrSize) + 17));

    public ulong ChildGeneration(int i) => BinaryPrimitives.ReadUInt64LittleEndian(Data.AsSpan(HeaderSize + (i * KeyPtrSize) + 25));

    public ReadOnlyMemory<byte> ItemData(int i)
    {
        var item = Data.AsSpan(HeaderSize + (i * ItemSize));
        int offset = (int)BinaryPrimitives.ReadUInt32LittleEndian(item[17..]);
        int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(item[21..]);
        return Data.AsMemory(HeaderSize + offset, size);
    }
}

/// <summary>
/// Reads btrfs B-trees through the chunk map. Every block is checked before use (checksum, fsid,
/// its own address, level, generation, item bounds, key order, and that its keys lie between the
/// keys of its parent's pointers); a DUP block whose first copy fails is read from the second, as
/// the kernel does. Levels strictly fall on the way down and keys strictly rise along a walk, so no
/// damaged pointer can make a walk revisit a block or run forever.
/// </summary>
internal sealed class BtrfsTree
{
    public const int MaxLevel = 8;

    private const int CacheLimit = 1024;

    private readonly IReadableVolume volume;
    private readonly string path;
    private readonly BtrfsSuperblock superblock;
    private readonly BtrfsChecksum checksum;
    private readonly Dictionary<ulong, BtrfsNode> cache = [];

    public BtrfsTree(IReadableVolume volume, string path, BtrfsSuperblock superblock, BtrfsChunkMap chunks)
    {
        this.volume = volume;
        this.path = path;
        this.superblock = superblock;
        checksum = BtrfsChecksum.For(superblock.CsumType)!;
        Chunks = chunks;
    }

    public BtrfsChunkMap Chunks { get; }

    public BtrfsChecksum Checksum => checksum;

    public string Path => path;

    /// <summary>Reads <paramref name="buffer"/>.Length bytes at a logical address (from the first copy).</summary>
    public void ReadLogical(ulong logical, Span<byte> buffer)
    {
        var chunk = Chunks.Find(logical, (ulong)buffer.Length, out ulong offset);
        volume.ReadAt(chunk.Physical[0] + (long)offset, buffer);
    }

    /// <summary>Every item with <paramref name="min"/> &lt;= key &lt;= <paramref name="max"/>, in key order.</summary>
    public IEnumerable<BtrfsLeafItem> Range(BtrfsRoot root, BtrfsKey min, BtrfsKey max)
    {
        var top = ReadNode(root.Bytenr, root.Level, root.Generation, null, null);
        return Walk(top, min, max, null);
    }

    /// <summary>The item with exactly this key, or null.</summary>
    public ReadOnlyMemory<byte>? Find(BtrfsRoot root, BtrfsKey key)
    {
        foreach (var item in Range(root, key, key))
        {
            return item.Data;
        }
        return null;
    }

    private IEnumerable<BtrfsLeafItem> Walk(BtrfsNode node, BtrfsKey min, BtrfsKey max, BtrfsKey? upper)
    {
        if (node.Level == 0)
        {
            for (int i = LowerBound(node, min, leaf: true); i < node.Count; i++)
            {
                var key = node.Key(i);
                if (key > max)
                {
                    yield break;
                }
                yield return new BtrfsLeafItem(key, node.ItemData(i));
            }
            yield break;
        }
        for (int i = LowerBound(node, min, leaf: false); i < node.Count; i++)
        {
            var key = node.Key(i);
            if (key > max)
            {
                yield break;
            }
            BtrfsKey? childUpper = i + 1 < node.Count ? node.Key(i + 1) : upper;
            var child = ReadNode(node.ChildBytenr(i), (byte)(node.Level - 1), node.ChildGeneration(i), key, childUpper);
            foreach (var item in Walk(child, min, max, childUpper))
            {
                yield return item;
            }
        }
    }

    /// <summary>Leaf: the first item &gt;= min. Node: the last pointer &lt;= min (its subtree may hold min), or 0.</summary>
    private static int LowerBound(BtrfsNode node, BtrfsKey min, bool leaf)
    {
        int lo = 0;
        int hi = node.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (node.Key(mid) < min)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        if (leaf)
        {
            return lo;
        }
        if (lo < node.Count && node.Key(lo) == min)
        {
            return lo;
        }
        return Math.Max(0, lo - 1);
    }

    /// <summary>
    /// Reads and checks one tree block. <paramref name="first"/> is the key its parent points with
    /// (the block's first key must equal it) and <paramref name="upper"/> the parent's next key
    /// (every key of the block must stay below it).
    /// </summary>
    public BtrfsNode ReadNode(ulong bytenr, byte level, ulong generation, BtrfsKey? first, BtrfsKey? upper)
    {
        if (!cache.TryGetValue(bytenr, out var node))
        {
            node = Load(bytenr);
            if (cache.Count >= CacheLimit)
            {
                cache.Clear();
            }
            cache[bytenr] = node;
        }
        if (node.Level != level)
        {
            throw Damaged($"the tree block at {bytenr} has level {node.Level} where level {level} was expected (a pointer loop or a misdirected write)");
        }
        ulong blockGeneration = BinaryPrimitives.ReadUInt64LittleEndian(node.Data.AsSpan(0x50));
        if (blockGeneration != generation)
        {
            throw Damaged($"the tree block at {bytenr} has generation {blockGeneration} where its parent expects {generation}");
        }
        if (node.Count == 0 && first is not null)
        {
            throw Damaged($"the tree block at {bytenr} is empty but not a root");
        }
        if (first is not null && node.Key(0) != first.Value)
        {
            throw Damaged($"the tree block at {bytenr} starts with key {node.Key(0)} where its parent points with {first.Value}");
        }
        if (upper is not null && node.Count > 0 && node.Key(node.Count - 1) >= upper.Value)
        {
            throw Damaged($"the tree block at {bytenr} holds key {node.Key(node.Count - 1)}, not below its parent's next key {upper.Value}");
        }
        return node;
    }

    /// <summary>Drops a block a commit wrote (its address may have held another block before).</summary>
    public void Forget(ulong bytenr) => cache.Remove(bytenr);

    /// <summary>Drops every cached block (another instance committed on the same volume).</summary>
    public void ForgetAll() => cache.Clear();

    private BtrfsNode Load(ulong bytenr)
    {
        uint nodeSize = superblock.NodeSize;
        if (bytenr % superblock.SectorSize != 0)
        {
            throw Damaged($"a tree block pointer {bytenr} is not aligned to the sector size");
        }
        var chunk = Chunks.Find(bytenr, nodeSize, out ulong offset);
        string? problem = null;
        foreach (long physical in chunk.Physical)
        {
            var data = new byte[nodeSize];
            volume.ReadAt(physical + (long)offset, data);
            problem = Check(data, bytenr, out var node);
            if (problem is null)
            {
                return node!;
            }
        }
        throw Damaged(problem!);
    }

    private string? Check(byte[] data, ulong bytenr, out BtrfsNode? node)
    {
        node = null;
        if (!checksum.Verify(data.AsSpan(BtrfsChecksum.FieldSize), data))
        {
            return $"the tree block at {bytenr} fails its {checksum.Name} checksum";
        }
        if (!data.AsSpan(0x20, 16).SequenceEqual(superblock.MetadataFsIdBytes))
        {
            return $"the tree block at {bytenr} belongs to another file system";
        }
        ulong recorded = BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(0x30));
        if (recorded != bytenr)
        {
            return $"the tree block at {bytenr} records the address {recorded}";
        }
        ulong generation = BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(0x50));
        if (generation > superblock.Generation)
        {
            return $"the tree block at {bytenr} has generation {generation}, newer than the superblock's {superblock.Generation}";
        }
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(0x60));
        byte level = data[0x64];
        if (level >= MaxLevel)
        {
            return $"the tree block at {bytenr} has level {level}";
        }
        int space = data.Length - BtrfsNode.HeaderSize;
        int entrySize = level == 0 ? BtrfsNode.ItemSize : BtrfsNode.KeyPtrSize;
        if (count > (uint)(space / entrySize))
        {
            return $"the tree block at {bytenr} claims {count} items";
        }
        var candidate = new BtrfsNode(data, bytenr, level, (int)count);
        for (int i = 0; i < candidate.Count; i++)
        {
            if (i > 0 && candidate.Key(i - 1) >= candidate.Key(i))
            {
                return $"the keys of the tree block at {bytenr} are out of order at {i}";
            }
            if (level == 0)
            {
                var item = data.AsSpan(BtrfsNode.HeaderSize + (i * BtrfsNode.ItemSize));
                uint itemOffset = BinaryPrimitives.ReadUInt32LittleEndian(item[17..]);
                uint itemSize = BinaryPrimitives.ReadUInt32LittleEndian(item[21..]);
                if (itemOffset < count * (uint)BtrfsNode.ItemSize || itemOffset > (uint)space || itemSize > (uint)space - itemOffset)
                {
                    return $"item {i} of the tree block at {bytenr} lies outside the block";
                }
            }
            else
            {
                ulong child = candidate.ChildBytenr(i);
                if (child == 0 || child % superblock.SectorSize != 0)
                {
                    return $"pointer {i} of the tree block at {bytenr} is invalid ({child})";
                }
            }
        }
        node = candidate;
        return null;
    }

    public LinuxImageException Damaged(string what) => new(DiagnosticCatalog.BtrfsDamaged, path, path, what);
}
