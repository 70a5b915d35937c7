using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vmdk;

/// <summary>
/// A hosted sparse extent: a grain directory of grain tables mapping each grain to a sector of the
/// file (monolithicSparse, twoGbMaxExtentSparse) or to a compressed grain with a marker
/// (streamOptimized). The redundant grain directory is not read.
/// </summary>
internal sealed class VmdkSparseExtent
{
    public const uint GrainUnallocated = 0;
    public const uint GrainZeroed = 1;

    private const ulong MaxGrainSectors = 1 << 16;
    // The specification fixes 512 entries per table; qemu refuses more.
    private const uint MaxGtesPerGt = 512;
    private const int MaxCachedTables = 4096;

    private readonly uint[] directory;
    private readonly object cacheLock = new();
    private readonly Dictionary<long, uint[]> tables = [];
    private long cachedGrainSector = -1;
    private byte[] cachedGrain = [];

    private VmdkSparseExtent(SourceFile file, VmdkSparseHeader header, uint[] directory)
    {
        File = file;
        Header = header;
        this.directory = directory;
        GrainBytes = (long)header.GrainSize * 512;
        CapacityBytes = (long)header.Capacity * 512;
    }

    public SourceFile File { get; }

    public VmdkSparseHeader Header { get; }

    public long GrainBytes { get; }

    public long CapacityBytes { get; }

    public static VmdkSparseHeader ReadHeader(SourceFile file)
    {
        var bytes = new byte[VmdkSparseHeader.Size];
        file.ReadExactly(0, bytes, "VMDK sparse header");
        var header = VmdkSparseHeader.Parse(bytes);
        if (header.GdOffset == VmdkSparseHeader.GrainDirectoryAtEnd)
        {
            // streamOptimized: the directory is written last, and a copy of the header with its real
            // offset sits in the footer, just before the end-of-stream marker.
            if (file.Length < 3 * 512)
            {
                throw new LinuxImageException(DiagnosticCatalog.DiskTruncated, file.Path, file.Path, "the streamOptimized footer is missing");
            }
            file.ReadExactly(file.Length - 1024, bytes, "VMDK footer");
            if (!VmdkSparseHeader.HasMagic(bytes))
            {
                throw new LinuxImageException(DiagnosticCatalog.DiskTruncated, file.Path, file.Path,
                    "the streamOptimized footer is missing from the end of the file (the export was cut short)");
            }
            header = VmdkSparseHeader.Parse(bytes);
        }
        return header;
    }

    public static VmdkSparseExtent Open(SourceFile file, VmdkSparseHeader header)
    {
        string path = file.Path;
        LinuxImageException Corrupt(string what) => new(DiagnosticCatalog.DiskCorrupt, path, path, what);
        if (header.GrainSize == 0 || header.GrainSize > MaxGrainSectors || (header.GrainSize & (header.GrainSize - 1)) != 0)
        {
            throw Corrupt($"grain size {header.GrainSize} sectors is not a power of two up to {MaxGrainSectors}");
        }
        if (header.GtesPerGt == 0 || header.GtesPerGt > MaxGtesPerGt)
        {
            throw Corrupt($"{header.GtesPerGt} entries per grain table (1 to {MaxGtesPerGt} expected)");
        }
        if (header.Capacity > (ulong)(long.MaxValue / 1024))
        {
            throw Corrupt($"capacity {header.Capacity} sectors is impossibly large");
        }
        if (header.Compressed && header.CompressAlgorithm != 1)
        {
            throw new LinuxImageException(DiagnosticCatalog.UnsupportedDiskFeature, path, path, $"VMDK compression algorithm {header.CompressAlgorithm} (only deflate, 1, exists)");
        }
        ulong grains = (header.Capacity + header.GrainSize - 1) / header.GrainSize;
        ulong tablesCount = (grains + header.GtesPerGt - 1) / header.GtesPerGt;
        // The directory must lie in the file, which bounds the allocation by the file's size.
        if (header.GdOffset == 0 || header.GdOffset > (ulong)file.Length / 512 || tablesCount * 4 > (ulong)file.Length - (header.GdOffset * 512))
        {
            throw Corrupt($"the grain directory ({tablesCount} entries at sector {header.GdOffset}) lies outside the file ({file.Length} bytes)");
        }
        var raw = new byte[tablesCount * 4];
        file.ReadExactly((long)header.GdOffset * 512, raw, "VMDK grain directory");
        var directory = new uint[tablesCount];
        for (int i = 0; i < directory.Length; i++)
        {
            directory[i] = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(i * 4));
        }
        return new VmdkSparseExtent(file, header, directory);
    }

    /// <summary>The grain table entry of the grain holding <paramref name="offset"/> (bytes into the extent).</summary>
    public uint GrainEntry(long offset)
    {
        long grain = offset / GrainBytes;
        long tableIndex = grain / Header.GtesPerGt;
        if (tableIndex >= directory.Length)
        {
            return GrainUnallocated;
        }
        var table = Table(tableIndex);
        uint entry = table is null ? GrainUnallocated : table[grain % Header.GtesPerGt];
        if (entry > GrainZeroed && (entry < Header.OverHead || (long)entry * 512 >= File.Length))
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, File.Path, File.Path,
                $"the grain for extent offset {offset} points to sector {entry}, {(entry < Header.OverHead ? "into the headers and tables" : "past the end of the file")}");
        }
        return entry;
    }

    private uint[]? Table(long index)
    {
        uint sector = directory[index];
        if (sector == 0)
        {
            return null;
        }
        lock (cacheLock)
        {
            if (tables.TryGetValue(index, out var cached))
            {
                return cached;
            }
        }
        long bytes = Header.GtesPerGt * 4L;
        if ((long)sector * 512 > File.Length - bytes)
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, File.Path, File.Path,
                $"grain directory entry {index} names a grain table at sector {sector}, past the end of the file");
        }
        var raw = new byte[bytes];
        File.ReadExactly((long)sector * 512, raw, "VMDK grain table");
        var table = new uint[Header.GtesPerGt];
        for (int i = 0; i < table.Length; i++)
        {
            table[i] = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(i * 4));
        }
        lock (cacheLock)
        {
            if (tables.Count >= MaxCachedTables)
            {
                tables.Clear();
            }
            tables[index] = table;
        }
        return table;
    }

    /// <summary>Reads from a compressed grain at <paramref name="sector"/>; <paramref name="inGrain"/> is the offset within the grain.</summary>
    public void ReadCompressed(uint sector, long inGrain, long grainLength, Span<byte> target)
    {
        lock (cacheLock)
        {
            if (cachedGrainSector != sector)
            {
                long at = (long)sector * 512;
                long dataAt = at;
                long length;
                if (Header.HasMarkers)
                {
                    Span<byte> marker = stackalloc byte[12];
                    File.ReadExactly(at, marker, "VMDK grain marker");
                    length = BinaryPrimitives.ReadUInt32LittleEndian(marker[8..]);
                    dataAt = at + 12;
                    if (length == 0 || length > (2 * GrainBytes) + 4096)
                    {
                        throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, File.Path, File.Path,
                            $"the compressed grain at sector {sector} claims {length} bytes for a grain of {GrainBytes}");
                    }
                }
                else
                {
                    length = Math.Min((2 * GrainBytes) + 4096, File.Length - at);
                }
                var compressed = new byte[length];
                File.ReadExactly(dataAt, compressed, "VMDK compressed grain");
                var grain = cachedGrain.Length == GrainBytes ? cachedGrain : new byte[GrainBytes];
                cachedGrainSector = -1;
                Decompression.Decompress(Decompression.Codec.Zlib, compressed, compressed.Length, grain, File.Path, "grain", dataAt, (int)grainLength);
                cachedGrain = grain;
                cachedGrainSector = sector;
            }
            cachedGrain.AsSpan((int)inGrain, target.Length).CopyTo(target);
        }
    }

    public IEnumerable<(long Offset, long Length)> AllocatedGrains()
    {
        long grainCount = (CapacityBytes + GrainBytes - 1) / GrainBytes;
        // Two directory entries naming one table would let a small file describe endless work.
        var seen = new HashSet<uint>();
        for (long t = 0; t < directory.Length; t++)
        {
            var table = Table(t);
            if (table is null)
            {
                continue;
            }
            if (!seen.Add(directory[t]))
            {
                throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, File.Path, File.Path,
                    $"grain directory entry {t} names the grain table at sector {directory[t]}, which another entry names too");
            }
            for (int i = 0; i < table.Length; i++)
            {
                long grain = (t * Header.GtesPerGt) + i;
                if (grain >= grainCount)
                {
                    yield break;
                }
                if (table[i] > GrainZeroed)
                {
                    yield return (grain * GrainBytes, GrainBytes);
                }
            }
        }
    }
}
