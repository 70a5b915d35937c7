using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>
/// Chunk allocation on one device (after the kernel's fs/btrfs/volumes.c btrfs_create_chunk and
/// block-group.c btrfs_create_pending_block_groups): when the block groups of a type are full, a new
/// chunk of the profile that type already uses (SINGLE or DUP) is carved from the device's
/// unallocated space, sized as the kernel sizes it, and placed after the highest chunk. The chunk
/// is usable at once; its items (chunk item, device extents, device item's bytes used, block group
/// item, free space info) go into the trees at commit, as the kernel's pending block groups do,
/// because an allocation can happen in the middle of another tree's copy-on-write path.
/// System chunks are never allocated (they would also need the superblock's system chunk array).
/// </summary>
internal sealed partial class BtrfsTransaction
{
    private const ulong StripeLength = 64 * 1024;
    private const ulong DeviceRangeReserved = 1UL << 20;
    private const ulong ProfileDup = 1UL << 5;
    private const ulong ProfileMask = (1UL << 3) | (1UL << 4) | ProfileDup | (1UL << 6) | (1UL << 7) | (1UL << 8) | (1UL << 9) | (1UL << 10);
    private const int DevExtentSize = 48;
    private const int DevItemBytesUsed = 16;
    private const int DevItemUuid = 66;
    private const int SuperblockDevItem = 0xc9;

    private readonly List<PendingChunk> newChunks = [];
    private ulong? deviceBytesUsed;

    private sealed class PendingChunk(BtrfsBlockGroup group, byte[] item)
    {
        public BtrfsBlockGroup Group { get; } = group;

        public BtrfsChunk Chunk => Group.Chunk;

        /// <summary>The CHUNK_ITEM as it goes into the chunk tree (struct btrfs_chunk with its stripes).</summary>
        public byte[] Item { get; } = item;

        public bool Inserted { get; set; }
    }

    /// <summary>The chunk that maps a logical range: one this transaction allocated, or one the volume has.</summary>
    private BtrfsChunk FindChunk(ulong logical, ulong length, out ulong offsetInChunk)
    {
        foreach (var c in newChunks)
        {
            if (logical >= c.Chunk.Logical && logical - c.Chunk.Logical < c.Chunk.Length)
            {
                offsetInChunk = logical - c.Chunk.Logical;
                if (length > c.Chunk.Length - offsetInChunk)
                {
                    throw reader.Damaged($"{length} bytes at logical {logical} run past the end of their chunk");
                }
                return c.Chunk;
            }
        }
        return reader.Chunks.Find(logical, length, out offsetInChunk);
    }

    /// <summary>
    /// A new block group of <paramref name="kind"/> (data or metadata) in a new chunk, with the flags
    /// (type and profile) of the first block group of that kind, or LIMG0386 when the device has no
    /// room for one. <paramref name="need"/> is what the caller wants to place (the smallest useful chunk).
    /// </summary>
    private BtrfsBlockGroup AllocateChunk(ulong kind, ulong need, string what)
    {
        string kindName = kind == BtrfsBlockGroup.TypeData ? "data" : "metadata";
        var template = Groups.FirstOrDefault(g => (g.Type & kind) != 0 && (g.Type & BtrfsBlockGroup.TypeSystem) == 0)?.Chunk
            ?? throw NoSpace(kindName, what, $"the file system has no {kindName} block group whose profile a new chunk could take");
        ulong type = template.Type;
        if ((type & BtrfsBlockGroup.TypeData) != 0 && (type & BtrfsBlockGroup.TypeMetadata) != 0)
        {
            throw NoSpace(kindName, what, "it mixes data and metadata in its block groups (mkfs.btrfs --mixed), whose chunks the SDK does not allocate");
        }
        if ((type & ProfileMask & ~ProfileDup) != 0)
        {
            throw NoSpace(kindName, what, $"its {kindName} profile 0x{type & ProfileMask:x} is neither single nor DUP");
        }
        int copies = (type & ProfileDup) != 0 ? 2 : 1;

        // init_alloc_chunk_ctl_policy_regular: data stripes up to 1 GiB, metadata 256 MiB (1 GiB past
        // 50 GiB), and no chunk larger than a tenth of the writable space.
        ulong total = superblock.TotalBytes;
        bool data = kind == BtrfsBlockGroup.TypeData;
        ulong maxStripe = data || total > (50UL << 30) ? 1UL << 30 : 256UL << 20;
        ulong maxChunk = Math.Min(total / 10, data ? 10UL << 30 : maxStripe);

        // gather_device_info / find_free_dev_extent: the first hole that holds every copy of the
        // largest stripe, else the largest hole, whose size then bounds the stripe.
        var (devOffset, maxAvail) = FindDeviceHole(maxStripe * (ulong)copies);
        ulong stripe = maxAvail / (ulong)copies;
        // decide_stripe_size_regular
        if (stripe > maxChunk)
        {
            stripe = Math.Min(RoundUp(maxChunk, 16UL << 20), stripe);
        }
        stripe = Math.Min(stripe, 1UL << 30) / StripeLength * StripeLength;
        // Data may spread over several chunks; a tree block must fit whole.
        ulong smallest = data ? StripeLength : Math.Max(StripeLength, need);
        if (stripe < smallest)
        {
            throw NoSpace(kindName, what, $"the device has {maxAvail} unallocated bytes in its largest hole, too few for a new {kindName} chunk of {copies} cop{(copies == 1 ? "y" : "ies")}");
        }

        // find_next_chunk: after the highest chunk.
        ulong logical = 0;
        foreach (var c in reader.Chunks.Chunks.Concat(newChunks.Select(n => n.Chunk)))
        {
            logical = Math.Max(logical, c.Logical + c.Length);
        }
        var physical = new long[copies];
        for (int i = 0; i < copies; i++)
        {
            // DUP's two stripes lie one after the other in the same hole (create_chunk).
            physical[i] = (long)(devOffset + ((ulong)i * stripe));
        }
        var chunk = new BtrfsChunk(logical, stripe, type, physical);
        var group = new BtrfsBlockGroup(chunk, 0) { Pending = true, Dirty = true };
        var free = new BtrfsRangeSet();
        free.Add(logical, stripe);
        ExcludeSuperblockStripes(group, free);
        group.Free = free;
        Groups.Add(group);
        newChunks.Add(new PendingChunk(group, ChunkItem(chunk)));
        events++;
        return group;
    }

    private static ulong RoundUp(ulong value, ulong unit) => (value + unit - 1) / unit * unit;

    private LinuxImageException NoSpace(string kind, string what, string why) =>
        new(DiagnosticCatalog.BtrfsNoSpace, source, source, kind, what, why);

    /// <summary>
    /// The start of the first unallocated device range of at least <paramref name="want"/> bytes, or
    /// of the largest, and its usable length: after the first MiB (BTRFS_DEVICE_RANGE_RESERVED), below
    /// the device's total bytes, around the device extents (committed and this transaction's) and
    /// around the superblock copies' stripes, so no new chunk needs a hole for a superblock.
    /// </summary>
    private (ulong Offset, ulong Length) FindDeviceHole(ulong want)
    {
        var devItem = DeviceItem();
        ulong total = Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(devItem.AsSpan(8)), (ulong)volume.Length);
        var free = new BtrfsRangeSet();
        if (total > DeviceRangeReserved)
        {
            free.Add(DeviceRangeReserved, total - DeviceRangeReserved);
        }
        ulong devid = superblock.DeviceId;
        foreach (var (key, data) in Range(BtrfsItem.DevTreeObjectId, new BtrfsKey(devid, BtrfsItem.DevExtent, 0), new BtrfsKey(devid, BtrfsItem.DevExtent, ulong.MaxValue)))
        {
            if (data.Length < DevExtentSize)
            {
                throw reader.Damaged($"the device extent at {key.Offset} is {data.Length} bytes");
            }
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(24));
            if (length == 0 || key.Offset + length < key.Offset)
            {
                throw reader.Damaged($"the device extent at {key.Offset} has the length {length}");
            }
            free.Exclude(key.Offset, length);
        }
        foreach (var c in newChunks)
        {
            foreach (long p in c.Chunk.Physical)
            {
                free.Exclude((ulong)p, c.Chunk.Length);
            }
        }
        foreach (long super in SuperblockOffsets())
        {
            free.Exclude((ulong)super, SuperStripeLength);
        }
        (ulong Offset, ulong Length) best = (0, 0);
        foreach (var (start, length) in free.Ranges)
        {
            ulong aligned = RoundUp(start, StripeLength);
            if (aligned - start >= length)
            {
                continue;
            }
            ulong usable = length - (aligned - start);
            if (usable >= want)
            {
                return (aligned, want);
            }
            if (usable > best.Length)
            {
                best = (aligned, usable);
            }
        }
        return best;
    }

    /// <summary>The device's DEV_ITEM in the chunk tree as this transaction sees it.</summary>
    private byte[] DeviceItem()
    {
        var item = Find(BtrfsItem.ChunkTreeObjectId, new BtrfsKey(BtrfsItem.DevItemsObjectId, BtrfsItem.DevItem, superblock.DeviceId))
            ?? throw reader.Damaged($"the chunk tree has no device item for device {superblock.DeviceId}");
        if (item.Length < DevItemUuid + 16)
        {
            throw reader.Damaged($"the device item of device {superblock.DeviceId} is {item.Length} bytes");
        }
        return item;
    }

    /// <summary>struct btrfs_chunk as the kernel fills it (btrfs_chunk_alloc_add_chunk_item), this device's uuid in every stripe.</summary>
    private byte[] ChunkItem(BtrfsChunk chunk)
    {
        var devUuid = DeviceItem().AsSpan(DevItemUuid, 16);
        var item = new byte[BtrfsChunkMap.ChunkHeaderSize + (chunk.Physical.Length * BtrfsChunkMap.StripeSize)];
        var span = item.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(span, chunk.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(span[8..], BtrfsItem.ExtentTreeObjectId);
        BinaryPrimitives.WriteUInt64LittleEndian(span[16..], StripeLength);
        BinaryPrimitives.WriteUInt64LittleEndian(span[24..], chunk.Type);
        BinaryPrimitives.WriteUInt32LittleEndian(span[32..], (uint)StripeLength);
        BinaryPrimitives.WriteUInt32LittleEndian(span[36..], (uint)StripeLength);
        BinaryPrimitives.WriteUInt32LittleEndian(span[40..], SectorSize);
        BinaryPrimitives.WriteUInt16LittleEndian(span[44..], (ushort)chunk.Physical.Length);
        // sub_stripes: 1 for SINGLE and DUP (btrfs_raid_array).
        BinaryPrimitives.WriteUInt16LittleEndian(span[46..], 1);
        for (int i = 0; i < chunk.Physical.Length; i++)
        {
            var stripe = span[(BtrfsChunkMap.ChunkHeaderSize + (i * BtrfsChunkMap.StripeSize))..];
            BinaryPrimitives.WriteUInt64LittleEndian(stripe, superblock.DeviceId);
            BinaryPrimitives.WriteUInt64LittleEndian(stripe[8..], (ulong)chunk.Physical[i]);
            devUuid.CopyTo(stripe[16..]);
        }
        return item;
    }

    /// <summary>
    /// The items of the chunks allocated since the last round (btrfs_create_pending_block_groups):
    /// chunk item and the device item's bytes used in the chunk tree, a device extent per stripe,
    /// the block group item, and with a free space tree its info item (the extents follow as for
    /// any changed block group). Each insert may allocate again, even another chunk; the commit's
    /// rounds take that one next.
    /// </summary>
    private void InsertPendingChunks()
    {
        for (int i = 0; i < newChunks.Count; i++)
        {
            var pending = newChunks[i];
            if (pending.Inserted)
            {
                continue;
            }
            pending.Inserted = true;
            var chunk = pending.Chunk;
            Insert(BtrfsItem.ChunkTreeObjectId, new BtrfsKey(BtrfsItem.FirstChunkTreeObjectId, BtrfsItem.ChunkItem, chunk.Logical), pending.Item);
            foreach (long p in chunk.Physical)
            {
                var extent = new byte[DevExtentSize];
                BinaryPrimitives.WriteUInt64LittleEndian(extent, BtrfsItem.ChunkTreeObjectId);
                BinaryPrimitives.WriteUInt64LittleEndian(extent.AsSpan(8), BtrfsItem.FirstChunkTreeObjectId);
                BinaryPrimitives.WriteUInt64LittleEndian(extent.AsSpan(16), chunk.Logical);
                BinaryPrimitives.WriteUInt64LittleEndian(extent.AsSpan(24), chunk.Length);
                chunkTreeUuid.CopyTo(extent.AsSpan(32));
                Insert(BtrfsItem.DevTreeObjectId, new BtrfsKey(superblock.DeviceId, BtrfsItem.DevExtent, (ulong)p), extent);
            }
            var devKey = new BtrfsKey(BtrfsItem.DevItemsObjectId, BtrfsItem.DevItem, superblock.DeviceId);
            var devItem = (byte[])DeviceItem().Clone();
            ulong used = BinaryPrimitives.ReadUInt64LittleEndian(devItem.AsSpan(DevItemBytesUsed)) + (chunk.Length * (ulong)chunk.Physical.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(devItem.AsSpan(DevItemBytesUsed), used);
            Update(BtrfsItem.ChunkTreeObjectId, devKey, devItem);
            deviceBytesUsed = used;

            var groupItem = new byte[24];
            BinaryPrimitives.WriteUInt64LittleEndian(groupItem, pending.Group.Used);
            BinaryPrimitives.WriteUInt64LittleEndian(groupItem.AsSpan(8), BtrfsItem.FirstChunkTreeObjectId);
            BinaryPrimitives.WriteUInt64LittleEndian(groupItem.AsSpan(16), chunk.Type);
            Insert(BlockGroupTreeId, new BtrfsKey(chunk.Logical, BtrfsItem.BlockGroupItem, chunk.Length), groupItem);
            if (HasFreeSpaceTree)
            {
                Insert(BtrfsItem.FreeSpaceTreeObjectId, new BtrfsKey(chunk.Logical, BtrfsItem.FreeSpaceInfo, chunk.Length), new byte[8]);
            }
            pending.Group.Pending = false;
            pending.Group.Dirty = true;
            events++;
        }
    }

    /// <summary>The superblock's own copy of the device item, and where the chunk tree now starts.</summary>
    private void UpdateSuperblockChunkFields(Span<byte> raw)
    {
        var chunkRoot = roots[BtrfsItem.ChunkTreeObjectId];
        BinaryPrimitives.WriteUInt64LittleEndian(raw[0x58..], chunkRoot.Bytenr);
        BinaryPrimitives.WriteUInt64LittleEndian(raw[0xa4..], chunkRoot.Generation);
        raw[0xc7] = chunkRoot.Level;
        if (deviceBytesUsed is ulong used)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(raw[(SuperblockDevItem + DevItemBytesUsed)..], used);
        }
    }

    private void ExcludeSuperblockStripes(BtrfsBlockGroup g, BtrfsRangeSet free)
    {
        foreach (long physical in g.Chunk.Physical)
        {
            foreach (long super in SuperblockOffsets())
            {
                if (super + (long)SuperStripeLength > physical && super < physical + (long)g.Length)
                {
                    long start = Math.Max(super, physical);
                    long end = Math.Min(super + (long)SuperStripeLength, physical + (long)g.Length);
                    free.Exclude(g.Start + (ulong)(start - physical), (ulong)(end - start));
                }
            }
        }
    }
}
