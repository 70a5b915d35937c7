using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Qcow2;

/// <summary>
/// The active layer of a qcow2 image: a two-level table (L1 → L2) maps each guest cluster to a
/// host cluster, a compressed cluster, zeros, or the backing file. Snapshots are not read.
/// </summary>
public sealed class Qcow2DiskImage : IDiskImage, IBlockMapper
{
    private const ulong OffsetMask = 0x00FF_FFFF_FFFF_FE00;
    private const ulong CompressedFlag = 1UL << 62;
    private const ulong ZeroFlag = 1UL;
    private const int SubclustersPerCluster = 32;

    // qemu refuses L1 tables over 32 MiB; the same bound keeps our allocation sane.
    private const long MaxL1Entries = 32L * 1024 * 1024 / 8;
    private const long MaxCachedL2Bytes = 32L * 1024 * 1024;

    private readonly SourceFile file;
    private readonly Qcow2Header header;
    private readonly ulong[] l1;
    private readonly IDiskImage? backing;
    private readonly long clusterSize;
    private readonly int clusterBits;
    private readonly int l2Entries;
    private readonly int l2EntryWords;
    private readonly long subclusterSize;
    private readonly long l1Start;
    private readonly long l1End;
    private readonly int maxCachedTables;
    private readonly object cacheLock = new();
    private readonly Dictionary<long, ulong[]> l2Cache = [];
    private long cachedCompressedHost = -1;
    private byte[] cachedCompressed = [];

    private Qcow2DiskImage(SourceFile file, Qcow2Header header, ulong[] l1, IDiskImage? backing)
    {
        this.file = file;
        this.header = header;
        this.l1 = l1;
        this.backing = backing;
        clusterBits = header.ClusterBits;
        clusterSize = header.ClusterSize;
        l2EntryWords = header.ExtendedL2 ? 2 : 1;
        l2Entries = (int)(clusterSize / (8 * l2EntryWords));
        subclusterSize = header.ExtendedL2 ? clusterSize / SubclustersPerCluster : clusterSize;
        l1Start = (long)header.L1TableOffset;
        l1End = l1Start + (l1.Length * 8L);
        maxCachedTables = (int)Math.Max(16, MaxCachedL2Bytes / clusterSize);
        Length = (long)header.Size;
        Warnings = backing?.Warnings ?? [];
    }

    public DiskFormat Format => DiskFormat.Qcow2;

    public string Path => file.Path;

    public long Length { get; }

    public IReadOnlyList<Diagnostic> Warnings { get; }

    public IReadOnlyList<string> Files => backing is null ? [file.Path] : [file.Path, .. backing.Files];

    public Qcow2Header Header => header;

    internal static Qcow2DiskImage Open(SourceFile file, DiskOpenContext context)
    {
        string path = file.Path;
        LinuxImageException Corrupt(string what) => new(DiagnosticCatalog.DiskCorrupt, path, path, what);
        var header = Qcow2Header.Read(file);

        if (header.CryptMethod != 0 || header.HasEncryptionExtension)
        {
            string method = header.CryptMethod switch { 1 => "qcow AES", 2 => "LUKS", _ => $"method {header.CryptMethod}" };
            throw new LinuxImageException(DiagnosticCatalog.EncryptedDisk, path, path, method);
        }
        if ((header.IncompatibleFeatures & Qcow2Header.IncompatibleExternalData) != 0 || header.ExternalDataFile is not null)
        {
            throw new LinuxImageException(DiagnosticCatalog.ExternalDataFile, path, path, header.ExternalDataFile ?? "unnamed");
        }
        if ((header.IncompatibleFeatures & Qcow2Header.IncompatibleCorrupt) != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.Qcow2MarkedCorrupt, path, path);
        }
        ulong unknown = header.IncompatibleFeatures & ~Qcow2Header.IncompatibleKnown;
        if (unknown != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.UnsupportedDiskFeature, path, path, $"qcow2 incompatible feature bits 0x{unknown:X} unknown to this version");
        }
        if (header.CompressionType > 1)
        {
            throw new LinuxImageException(DiagnosticCatalog.UnsupportedDiskFeature, path, path, $"qcow2 compression type {header.CompressionType} (known: 0 deflate, 1 zstd)");
        }
        if (header.ExtendedL2 && header.ClusterBits < 14)
        {
            throw Corrupt($"extended L2 entries need clusters of at least 16 KiB, not {header.ClusterSize} bytes");
        }

        // Every guest byte must be mappable by the L1 table: this also rejects sizes near 2^64,
        // since the L1 table is bounded by qemu's own 32 MiB limit and by the file.
        long clusterSize = header.ClusterSize;
        long l2Entries = clusterSize / (header.ExtendedL2 ? 16 : 8);
        long bytesPerL1 = clusterSize * l2Entries;
        if (header.Size > (ulong)(MaxL1Entries * bytesPerL1) || header.Size > long.MaxValue / 2)
        {
            throw Corrupt($"the virtual size {header.Size} bytes is beyond what a qcow2 image with {clusterSize}-byte clusters can map");
        }
        long needed = (long)((header.Size + (ulong)bytesPerL1 - 1) / (ulong)bytesPerL1);
        if (header.L1Size < needed || header.L1Size > MaxL1Entries)
        {
            throw Corrupt($"the L1 table has {header.L1Size} entries but the virtual size {header.Size} needs {needed}");
        }
        long l1Offset = header.L1TableOffset > (ulong)long.MaxValue ? -1 : (long)header.L1TableOffset;
        long l1Bytes = needed * 8L;
        if (needed > 0 && (l1Offset < clusterSize || l1Offset % clusterSize != 0 || l1Offset > file.Length - l1Bytes))
        {
            throw Corrupt($"the L1 table ({l1Bytes} bytes at offset {header.L1TableOffset}) is not cluster-aligned after the header or lies outside the file ({file.Length} bytes)");
        }
        var raw = new byte[l1Bytes];
        if (needed > 0)
        {
            file.ReadExactly(l1Offset, raw, "qcow2 L1 table");
        }
        var l1 = new ulong[needed];
        for (int i = 0; i < l1.Length; i++)
        {
            l1[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
        }

        IDiskImage? backing = null;
        if (!string.IsNullOrEmpty(header.BackingFile))
        {
            DiskFormat? forced = header.BackingFormat switch
            {
                null or "" => null,
                "raw" => DiskFormat.Raw,
                _ => null,
            };
            backing = context.OpenParent(path, [header.BackingFile], forced);
        }
        return new Qcow2DiskImage(file, header, l1, backing);
    }

    public void ReadAt(long offset, Span<byte> buffer)
    {
        this.CheckRange(offset, buffer.Length);
        MappedRead.Read(this, offset, buffer);
    }

    void IBlockMapper.ReadParent(long offset, Span<byte> target) => MappedRead.ReadClipped(backing, offset, target);

    void IBlockMapper.ReadSpecial(MappedRange range, long offset, Span<byte> target) => ReadCompressed(range.Tag, offset, target);

    private void ReadCompressed(ulong entry, long guestOffset, Span<byte> target)
    {
        int offsetBits = 62 - (clusterBits - 8);
        long host = (long)(entry & ((1UL << offsetBits) - 1));
        long additionalSectors = (long)((entry >> offsetBits) & ((1UL << (clusterBits - 8)) - 1));
        long compressedLength = ((additionalSectors + 1) * 512) - (host & 511);
        if (host < clusterSize || host >= file.Length)
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, Path, Path,
                $"a compressed cluster for guest offset {guestOffset} points to file offset {host}, {(host < clusterSize ? "into the header" : "past the end of the file")}");
        }
        long inCluster = guestOffset & (clusterSize - 1);
        lock (cacheLock)
        {
            if (cachedCompressedHost != host)
            {
                // The last compressed cluster may end in a partial sector past the end of the file; qemu reads those bytes as zero.
                int length = (int)Math.Min(compressedLength, file.Length - host);
                var compressed = new byte[length];
                file.ReadExactly(host, compressed, "qcow2 compressed cluster");
                var cluster = cachedCompressed.Length == clusterSize ? cachedCompressed : new byte[clusterSize];
                cachedCompressedHost = -1;
                Decompression.Decompress(header.CompressionType == 1 ? Decompression.Codec.Zstd : Decompression.Codec.RawDeflate,
                    compressed, length, cluster, Path, "cluster", host);
                cachedCompressed = cluster;
                cachedCompressedHost = host;
            }
            cachedCompressed.AsSpan((int)inCluster, target.Length).CopyTo(target);
        }
    }

    /// <summary>Maps the guest range at <paramref name="offset"/>, up to <paramref name="max"/> bytes and at most one (sub)cluster run.</summary>
    MappedRange IBlockMapper.Map(long offset, long max)
    {
        long clusterIndex = offset >> clusterBits;
        long inCluster = offset & (clusterSize - 1);
        long toClusterEnd = Math.Min(clusterSize - inCluster, max);
        long l1Index = clusterIndex / l2Entries;
        int l2Index = (int)(clusterIndex % l2Entries);
        var table = L2Table(l1Index);
        if (table is null)
        {
            return new MappedRange(backing is null ? MappedKind.Zero : MappedKind.Parent, toClusterEnd);
        }
        ulong entry = table[l2Index * l2EntryWords];
        if ((entry & CompressedFlag) != 0)
        {
            return new MappedRange(MappedKind.Special, toClusterEnd, Tag: entry);
        }
        long host = (long)(entry & OffsetMask);
        if (l2EntryWords == 1)
        {
            if ((entry & ZeroFlag) != 0)
            {
                return new MappedRange(MappedKind.Zero, toClusterEnd);
            }
            if (host == 0)
            {
                return new MappedRange(backing is null ? MappedKind.Zero : MappedKind.Parent, toClusterEnd);
            }
            CheckDataCluster(host, offset);
            return new MappedRange(MappedKind.Data, toClusterEnd, file, host + inCluster);
        }

        ulong bitmap = table[(l2Index * 2) + 1];
        int sub = (int)(inCluster / subclusterSize);
        MappedKind KindOf(int s)
        {
            bool allocated = (bitmap & (1UL << s)) != 0;
            bool zero = (bitmap & (1UL << (s + 32))) != 0;
            if (zero)
            {
                return MappedKind.Zero;
            }
            if (allocated)
            {
                return MappedKind.Data;
            }
            return backing is null ? MappedKind.Zero : MappedKind.Parent;
        }
        if (host == 0 && (bitmap & 0xFFFF_FFFF) != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, Path, Path,
                $"the extended L2 entry for guest offset {offset} marks subclusters allocated in a cluster that has no host offset");
        }
        if ((bitmap & (bitmap >> 32) & 0xFFFF_FFFF) != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, Path, Path,
                $"the extended L2 entry for guest offset {offset} marks subclusters both allocated and zero");
        }
        var kind = KindOf(sub);
        long runEnd = (sub + 1) * subclusterSize;
        while (runEnd < inCluster + toClusterEnd && KindOf((int)(runEnd / subclusterSize)) == kind)
        {
            runEnd += subclusterSize;
        }
        long length = Math.Min(runEnd, inCluster + toClusterEnd) - inCluster;
        if (kind == MappedKind.Data)
        {
            CheckDataCluster(host, offset);
            return new MappedRange(MappedKind.Data, length, file, host + inCluster);
        }
        return new MappedRange(kind, length);
    }

    private void CheckDataCluster(long host, long guestOffset)
    {
        if (host % clusterSize != 0 || host < clusterSize || (host < l1End && host + clusterSize > l1Start))
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, Path, Path,
                $"the L2 entry for guest offset {guestOffset} points to file offset {host}, which is not a cluster-aligned data cluster (it is unaligned or lies in the header or L1 table)");
        }
    }

    /// <summary>The L2 table for one L1 entry, or null when the whole range is unallocated.</summary>
    private ulong[]? L2Table(long l1Index)
    {
        ulong l1Entry = l1[l1Index];
        long tableOffset = (long)(l1Entry & OffsetMask);
        if (tableOffset == 0)
        {
            return null;
        }
        lock (cacheLock)
        {
            if (l2Cache.TryGetValue(l1Index, out var cached))
            {
                return cached;
            }
        }
        if (tableOffset % clusterSize != 0 || tableOffset < clusterSize || tableOffset > file.Length - clusterSize
            || (tableOffset < l1End && tableOffset + clusterSize > l1Start))
        {
            string fault = tableOffset % clusterSize != 0 ? "is not cluster-aligned"
                : tableOffset > file.Length - clusterSize ? "lies past the end of the file"
                : "lies in the header or L1 table";
            throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, Path, Path,
                $"L1 entry {l1Index} names an L2 table at file offset {tableOffset}, which {fault}");
        }
        var raw = new byte[clusterSize];
        file.ReadExactly(tableOffset, raw, "qcow2 L2 table");
        var table = new ulong[clusterSize / 8];
        for (int i = 0; i < table.Length; i++)
        {
            table[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
        }
        lock (cacheLock)
        {
            // Dropping the whole cache when full is crude but bounded; reads are sequential in practice.
            if (l2Cache.Count >= maxCachedTables)
            {
                l2Cache.Clear();
            }
            l2Cache[l1Index] = table;
        }
        return table;
    }

    public IEnumerable<DiskExtent> GetAllocatedExtents()
    {
        var own = DiskExtents.Coalesce(OwnExtents());
        return backing is null ? own : DiskExtents.Union(own, DiskExtents.Clip(backing.GetAllocatedExtents(), Length));
    }

    private IEnumerable<DiskExtent> OwnExtents()
    {
        // Two L1 entries naming one L2 table would let a small file describe endless work (and never happens in the active layer).
        var seen = new HashSet<ulong>();
        for (long i = 0; i < l1.Length; i++)
        {
            var table = L2Table(i);
            if (table is null)
            {
                continue;
            }
            if (!seen.Add(l1[i] & OffsetMask))
            {
                throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, Path, Path,
                    $"L1 entries {i} and an earlier one name the same L2 table at file offset {l1[i] & OffsetMask}");
            }
            for (int j = 0; j < l2Entries; j++)
            {
                long guest = ((i * l2Entries) + j) * clusterSize;
                if (guest >= Length)
                {
                    yield break;
                }
                ulong entry = table[j * l2EntryWords];
                bool compressed = (entry & CompressedFlag) != 0;
                long host = (long)(entry & OffsetMask);
                if (l2EntryWords == 1 || compressed)
                {
                    if (compressed || (host != 0 && (entry & ZeroFlag) == 0))
                    {
                        yield return new DiskExtent(guest, Math.Min(clusterSize, Length - guest));
                    }
                    continue;
                }
                ulong bitmap = table[(j * 2) + 1];
                for (int s = 0; s < SubclustersPerCluster; s++)
                {
                    if ((bitmap & (1UL << s)) != 0 && (bitmap & (1UL << (s + 32))) == 0)
                    {
                        long start = guest + (s * subclusterSize);
                        if (start < Length)
                        {
                            yield return new DiskExtent(start, Math.Min(subclusterSize, Length - start));
                        }
                    }
                }
            }
        }
    }

    public void Dispose()
    {
        backing?.Dispose();
        file.Dispose();
    }
}
