using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>One chunk: a logical range and where each copy of it lies on the device.</summary>
internal sealed record BtrfsChunk(ulong Logical, ulong Length, ulong Type, long[] Physical);

/// <summary>
/// Logical to physical addresses (struct btrfs_chunk). Only what one device can hold is read:
/// SINGLE (one stripe) and DUP (two stripes on the same device); every other profile, and a stripe
/// on another device, is refused. Chunks are checked against the volume when they are loaded, so
/// a later read never leaves it.
/// </summary>
internal sealed class BtrfsChunkMap
{
    public const int ChunkHeaderSize = 48;
    public const int StripeSize = 32;

    private const ulong BlockGroupDup = 1UL << 5;
    private const ulong BlockGroupRaidProfiles = (1UL << 3) | (1UL << 4) | (1UL << 6) | (1UL << 7) | (1UL << 8) | (1UL << 9) | (1UL << 10);

    private readonly List<BtrfsChunk> chunks = [];
    private readonly string path;
    private readonly long volumeLength;
    private readonly ulong deviceId;

    public BtrfsChunkMap(string path, long volumeLength, ulong deviceId)
    {
        this.path = path;
        this.volumeLength = volumeLength;
        this.deviceId = deviceId;
    }

    public IReadOnlyList<BtrfsChunk> Chunks => chunks;

    /// <summary>Loads the bootstrap chunks the superblock carries (the chunks of the chunk tree itself).</summary>
    public void AddSystemChunkArray(ReadOnlySpan<byte> array)
    {
        int pos = 0;
        // Each entry takes at least a key, a chunk header and one stripe, so this loop is bounded by the array's 2 KiB.
        while (pos < array.Length)
        {
            if (array.Length - pos < BtrfsKey.Size + ChunkHeaderSize)
            {
                throw Damaged($"the system chunk array ends inside an entry at {pos}");
            }
            var key = BtrfsKey.Read(array[pos..]);
            if (key.Type != BtrfsItem.ChunkItem)
            {
                throw Damaged($"the system chunk array holds an item of type {key.Type} at {pos}");
            }
            pos += BtrfsKey.Size;
            int size = ChunkItemSize(array[pos..]);
            if (size > array.Length - pos)
            {
                throw Damaged($"the system chunk array ends inside the chunk at logical {key.Offset}");
            }
            Add(key.Offset, array.Slice(pos, size));
            pos += size;
        }
    }

    /// <summary>The size a chunk item claims (header and stripes), before it is checked against its container.</summary>
    public static int ChunkItemSize(ReadOnlySpan<byte> item)
    {
        ushort stripes = BinaryPrimitives.ReadUInt16LittleEndian(item[44..]);
        return ChunkHeaderSize + (stripes * StripeSize);
    }

    /// <summary>Adds one chunk item; the same chunk found again (system chunks appear in both places) is checked for agreement.</summary>
    public void Add(ulong logical, ReadOnlySpan<byte> item)
    {
        if (item.Length < ChunkHeaderSize)
        {
            throw Damaged($"the chunk item at logical {logical} is {item.Length} bytes");
        }
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(item);
        ulong type = BinaryPrimitives.ReadUInt64LittleEndian(item[24..]);
        int stripes = BinaryPrimitives.ReadUInt16LittleEndian(item[44..]);
        if (stripes == 0 || item.Length < ChunkHeaderSize + (stripes * StripeSize))
        {
            throw Damaged($"the chunk at logical {logical} has {stripes} stripes in {item.Length} bytes");
        }
        if (length == 0 || logical + length < logical)
        {
            throw Damaged($"the chunk at logical {logical} has the length {length}");
        }
        if ((type & BlockGroupRaidProfiles) != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsUnsupported, path, path,
                $"the RAID profile 0x{type & BlockGroupRaidProfiles:x} of the chunk at logical {logical} (the SDK reads single and DUP)");
        }
        int expected = (type & BlockGroupDup) != 0 ? 2 : 1;
        if (stripes != expected)
        {
            throw Damaged($"the chunk at logical {logical} has {stripes} stripes for its profile");
        }
        var physical = new long[stripes];
        for (int i = 0; i < stripes; i++)
        {
            var stripe = item[(ChunkHeaderSize + (i * StripeSize))..];
            ulong devid = BinaryPrimitives.ReadUInt64LittleEndian(stripe);
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(stripe[8..]);
            if (devid != deviceId)
            {
                throw new LinuxImageException(DiagnosticCatalog.BtrfsUnsupported, path, path,
                    $"the chunk at logical {logical} lies on device {devid}, not on this device {deviceId} (the SDK reads single-device btrfs only)");
            }
            if (offset > (ulong)volumeLength || length > (ulong)volumeLength - offset)
            {
                throw Damaged($"the chunk at logical {logical} maps {length} bytes at {offset}, beyond the end of the volume ({volumeLength} bytes)");
            }
            physical[i] = (long)offset;
        }

        var chunk = new BtrfsChunk(logical, length, type, physical);
        int index = chunks.BinarySearch(chunk, Comparer<BtrfsChunk>.Create((a, b) => a.Logical.CompareTo(b.Logical)));
        if (index >= 0)
        {
            var known = chunks[index];
            if (known.Length != length || !known.Physical.AsSpan().SequenceEqual(physical))
            {
                throw Damaged($"two different chunks start at logical {logical}");
            }
            return;
        }
        index = ~index;
        if ((index > 0 && chunks[index - 1].Logical + chunks[index - 1].Length > logical)
            || (index < chunks.Count && logical + length > chunks[index].Logical))
        {
            throw Damaged($"the chunk at logical {logical} overlaps another chunk");
        }
        chunks.Insert(index, chunk);
    }

    /// <summary>
    /// The physical offsets (one per copy) of <paramref name="length"/> bytes at <paramref name="logical"/>;
    /// the range must lie inside one chunk.
    /// </summary>
    public BtrfsChunk Find(ulong logical, ulong length, out ulong offsetInChunk)
    {
        int lo = 0;
        int hi = chunks.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var c = chunks[mid];
            if (logical < c.Logical)
            {
                hi = mid - 1;
            }
            else if (logical - c.Logical >= c.Length)
            {
                lo = mid + 1;
            }
            else
            {
                offsetInChunk = logical - c.Logical;
                if (length > c.Length - offsetInChunk)
                {
                    throw Damaged($"{length} bytes at logical {logical} run past the end of their chunk");
                }
                return c;
            }
        }
        throw Damaged($"no chunk maps the logical address {logical}");
    }

    private LinuxImageException Damaged(string what) => new(DiagnosticCatalog.BtrfsDamaged, path, path, what);
}
