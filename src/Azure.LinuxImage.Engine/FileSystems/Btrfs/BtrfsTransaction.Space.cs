using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>One block group: its item's used bytes as they change, and its free space once needed.</summary>
internal sealed class BtrfsBlockGroup
{
    public const ulong TypeData = 1;
    public const ulong TypeSystem = 2;
    public const ulong TypeMetadata = 4;

    public BtrfsBlockGroup(BtrfsChunk chunk, ulong used)
    {
        Chunk = chunk;
        Used = used;
    }

    public BtrfsChunk Chunk { get; }

    public ulong Start => Chunk.Logical;

    public ulong Length => Chunk.Length;

    public ulong End => Chunk.Logical + Chunk.Length;

    public ulong Type => Chunk.Type;

    public ulong Used { get; set; }

    /// <summary>Free space that may be allocated; null until first needed.</summary>
    public BtrfsRangeSet? Free { get; set; }

    /// <summary>Space freed by this transaction: free once it commits, never reused before.</summary>
    public BtrfsRangeSet Pinned { get; } = new();

    /// <summary>
    /// Superblock copies' stripes the free space tree lists as free (the kernel and mkfs.btrfs list
    /// them so and leave them out only when loading): never allocated, listed free again when the
    /// block group's free space items are rewritten.
    /// </summary>
    public BtrfsRangeSet ListedFreeUnderSuperblocks { get; } = new();

    public bool Dirty { get; set; }

    /// <summary>A block group this transaction allocated whose items are not in the trees yet.</summary>
    public bool Pending { get; set; }
}

/// <summary>
/// Allocation (after btrfs-progs kernel-shared/extent-tree.c, free-space-tree.c): tree blocks from
/// metadata block groups aligned to the node size (so none crosses a 64 KiB stripe), data from
/// data block groups by sectors. A block group's free space is read from the committed free space
/// tree when the file system has one, else computed from the committed extent tree less the
/// superblock copies' stripes. When the block groups of a type are full, a new chunk is allocated
/// (<see cref="AllocateChunk"/>); a device without room for one is refused.
/// </summary>
internal sealed partial class BtrfsTransaction
{
    /// <summary>BTRFS_MAX_EXTENT_SIZE: the kernel never makes a larger data extent.</summary>
    private const ulong MaxDataExtent = 128UL << 20;

    private const ulong SuperStripeLength = 64 * 1024;

    private readonly Dictionary<ulong, (ulong Owner, byte Level, bool Inserted)> created = [];
    private readonly List<(ulong Bytenr, BtrfsKey Key)> freedPending = [];
    private readonly List<(ulong Logical, byte[] Data)> pendingData = [];
    private List<BtrfsBlockGroup>? groups;
    private int events;

    private List<BtrfsBlockGroup> Groups
    {
        get
        {
            if (groups is null)
            {
                groups = [];
                foreach (var chunk in reader.Chunks.Chunks)
                {
                    var item = Find(BlockGroupTreeId, new BtrfsKey(chunk.Logical, BtrfsItem.BlockGroupItem, chunk.Length))
                        ?? throw reader.Damaged($"the chunk at logical {chunk.Logical} has no block group item");
                    if (item.Length < 24)
                    {
                        throw reader.Damaged($"the block group item at {chunk.Logical} is {item.Length} bytes");
                    }
                    groups.Add(new BtrfsBlockGroup(chunk, BinaryPrimitives.ReadUInt64LittleEndian(item)));
                }
            }
            return groups;
        }
    }

    private BtrfsBlockGroup Group(ulong logical)
    {
        foreach (var g in Groups)
        {
            if (logical >= g.Start && logical < g.End)
            {
                return g;
            }
        }
        throw reader.Damaged($"no block group holds the logical address {logical}");
    }

    private ulong AllocateTreeBlock(ulong owner, byte level)
    {
        // The chunk tree lives in system chunks, every other tree in metadata chunks.
        bool system = owner == BtrfsItem.ChunkTreeObjectId;
        foreach (var g in Groups)
        {
            bool fits = system
                ? (g.Type & BtrfsBlockGroup.TypeSystem) != 0
                : (g.Type & BtrfsBlockGroup.TypeMetadata) != 0 && (g.Type & BtrfsBlockGroup.TypeSystem) == 0;
            if (fits && TakeTreeBlock(g, owner, level) is ulong at)
            {
                return at;
            }
        }
        string what = $"a {NodeSize}-byte tree block";
        if (system)
        {
            throw NoSpace("system", what, "the SDK does not allocate system chunks (they would also go into the superblock's system chunk array)");
        }
        var added = AllocateChunk(BtrfsBlockGroup.TypeMetadata, (ulong)NodeSize, what);
        return TakeTreeBlock(added, owner, level) ?? throw reader.Damaged($"the new metadata chunk at {added.Start} holds no tree block");
    }

    private ulong? TakeTreeBlock(BtrfsBlockGroup g, ulong owner, byte level)
    {
        var free = FreeSpace(g);
        ulong? at = free.FindFit((ulong)NodeSize, (ulong)NodeSize);
        if (at is null)
        {
            return null;
        }
        free.Remove(at.Value, (ulong)NodeSize);
        Account(g, (ulong)NodeSize, allocate: true);
        created[at.Value] = (owner, level, false);
        return at.Value;
    }

    /// <summary>Sector-aligned data extents for <paramref name="length"/> bytes (rounded up to sectors), each at most 128 MiB.</summary>
    public List<(ulong Start, ulong Length)> AllocateData(ulong length)
    {
        var result = new List<(ulong, ulong)>();
        ulong remaining = (length + SectorSize - 1) / SectorSize * SectorSize;
        var dataGroups = Groups.Where(g => (g.Type & BtrfsBlockGroup.TypeData) != 0).ToList();
        while (remaining > 0)
        {
            ulong want = Math.Min(remaining, MaxDataExtent);
            (BtrfsBlockGroup Group, ulong Start, ulong Length)? pick = null;
            foreach (var g in dataGroups)
            {
                ulong? at = FreeSpace(g).FindFit(want, SectorSize);
                if (at is not null)
                {
                    pick = (g, at.Value, want);
                    break;
                }
            }
            if (pick is null)
            {
                // No single range holds it: the largest ranges, one extent each.
                foreach (var g in dataGroups)
                {
                    var largest = FreeSpace(g).Largest();
                    if (largest is not null && largest.Value.Length >= SectorSize && (pick is null || largest.Value.Length > pick.Value.Length))
                    {
                        pick = (g, largest.Value.Start, largest.Value.Length / SectorSize * SectorSize);
                    }
                }
            }
            if (pick is null)
            {
                var added = AllocateChunk(BtrfsBlockGroup.TypeData, want, $"{length} bytes of file data");
                dataGroups.Add(added);
                continue;
            }
            var (group, start, len) = pick.Value;
            group.Free!.Remove(start, len);
            Account(group, len, allocate: true);
            result.Add((start, len));
            remaining -= len;
        }
        return result;
    }

    /// <summary>A data extent whose last reference went: free after the commit.</summary>
    public void FreeData(ulong start, ulong length)
    {
        var g = Group(start);
        if (!g.Pinned.Add(start, length))
        {
            throw reader.Damaged($"the data extent at {start} is freed twice");
        }
        Account(g, length, allocate: false);
    }

    /// <summary>Bytes written at a logical address (every copy) when the transaction commits.</summary>
    public void WriteData(ulong logical, byte[] data)
    {
        FindChunk(logical, (ulong)data.Length, out _);
        pendingData.Add((logical, data));
    }

    private void FreeCommittedBlock(ulong bytenr, byte level)
    {
        var g = Group(bytenr);
        if (!g.Pinned.Add(bytenr, (ulong)NodeSize))
        {
            throw reader.Damaged($"the tree block at {bytenr} is freed twice (two trees point to it)");
        }
        Account(g, (ulong)NodeSize, allocate: false);
        freedPending.Add((bytenr, blockKeys.TryGetValue(bytenr, out var key) ? key : TreeBlockKey(bytenr, level)));
    }

    private void ReleaseNewTreeBlock(ulong bytenr, byte level)
    {
        var entry = created[bytenr];
        if (entry.Inserted)
        {
            // Its extent item is already in the tree: delete it like any other freed block's.
            FreeCommittedBlock(bytenr, level);
            return;
        }
        created.Remove(bytenr);
        var g = Group(bytenr);
        g.Free!.Add(bytenr, (ulong)NodeSize);
        Account(g, (ulong)NodeSize, allocate: false);
    }

    private BtrfsKey TreeBlockKey(ulong bytenr, byte level) =>
        Skinny ? new BtrfsKey(bytenr, BtrfsItem.MetadataItem, level) : new BtrfsKey(bytenr, BtrfsItem.ExtentItem, (ulong)NodeSize);

    private void Account(BtrfsBlockGroup g, ulong length, bool allocate)
    {
        if (allocate)
        {
            g.Used += length;
            BytesUsed += length;
        }
        else
        {
            if (g.Used < length || BytesUsed < length)
            {
                throw reader.Damaged($"the block group at {g.Start} would use less than nothing");
            }
            g.Used -= length;
            BytesUsed -= length;
        }
        g.Dirty = true;
        events++;
    }

    /// <summary>The block group's allocatable space, read from the committed trees the first time.</summary>
    private BtrfsRangeSet FreeSpace(BtrfsBlockGroup g)
    {
        if (g.Free is not null)
        {
            return g.Free;
        }
        var free = new BtrfsRangeSet();
        if (HasFreeSpaceTree)
        {
            var root = CommittedRoot(BtrfsItem.FreeSpaceTreeObjectId);
            bool info = false;
            foreach (var item in reader.Range(root, new BtrfsKey(g.Start, BtrfsItem.FreeSpaceInfo, g.Length), new BtrfsKey(g.End - 1, BtrfsItem.FreeSpaceBitmap, ulong.MaxValue)))
            {
                var k = item.Key;
                if (k.Type == BtrfsItem.FreeSpaceInfo)
                {
                    info |= k.ObjectId == g.Start;
                    continue;
                }
                if (k.Type != BtrfsItem.FreeSpaceExtent && k.Type != BtrfsItem.FreeSpaceBitmap)
                {
                    continue;
                }
                if (k.ObjectId < g.Start || k.Offset > g.End - k.ObjectId || k.Offset == 0)
                {
                    throw reader.Damaged($"the free space item {k} lies outside its block group at {g.Start}");
                }
                bool ok = true;
                if (k.Type == BtrfsItem.FreeSpaceExtent)
                {
                    ok = free.Add(k.ObjectId, k.Offset);
                }
                else
                {
                    var bits = item.Data.Span;
                    ulong count = k.Offset / SectorSize;
                    if ((ulong)bits.Length * 8 < count)
                    {
                        throw reader.Damaged($"the free space bitmap {k} is {bits.Length} bytes");
                    }
                    for (ulong i = 0; i < count && ok; i++)
                    {
                        if ((bits[(int)(i / 8)] & (1 << (int)(i % 8))) != 0)
                        {
                            ok = free.Add(k.ObjectId + (i * SectorSize), SectorSize);
                        }
                    }
                }
                if (!ok)
                {
                    throw reader.Damaged($"the free space item {k} overlaps another");
                }
            }
            if (!info)
            {
                throw reader.Damaged($"the free space tree has no info item for the block group at {g.Start}");
            }
            // A block group across a superblock copy (mkfs.btrfs makes them once the tree it copies
            // reaches 64 MiB) has that copy's stripe listed free: anything allocated there would
            // overwrite the superblock copy or be overwritten by it.
            var listed = free.Clone();
            ExcludeSuperblockStripes(g, free);
            foreach (var (start, length) in free.Ranges)
            {
                listed.Exclude(start, length);
            }
            foreach (var (start, length) in listed.Ranges)
            {
                g.ListedFreeUnderSuperblocks.Add(start, length);
            }
        }
        else
        {
            free.Add(g.Start, g.Length);
            var root = CommittedRoot(BtrfsItem.ExtentTreeObjectId);
            foreach (var item in reader.Range(root, new BtrfsKey(g.Start, 0, 0), new BtrfsKey(g.End - 1, byte.MaxValue, ulong.MaxValue)))
            {
                var k = item.Key;
                if (k.Type == BtrfsItem.ExtentItem)
                {
                    free.Exclude(k.ObjectId, k.Offset);
                }
                else if (k.Type == BtrfsItem.MetadataItem)
                {
                    free.Exclude(k.ObjectId, (ulong)NodeSize);
                }
            }
            ExcludeSuperblockStripes(g, free);
        }
        // Space this transaction already freed stays out until it commits.
        foreach (var (start, length) in g.Pinned.Ranges)
        {
            free.Exclude(start, length);
        }
        g.Free = free;
        return free;
    }

    private static IEnumerable<long> SuperblockOffsets() => [BtrfsSuperblock.PrimaryOffset, .. BtrfsSuperblock.MirrorOffsets];

    private BtrfsRoot CommittedRoot(ulong treeId)
    {
        Root(treeId);
        var (bytenr, level, generation) = committedRoots[treeId];
        return new BtrfsRoot(bytenr, level, generation);
    }
}
