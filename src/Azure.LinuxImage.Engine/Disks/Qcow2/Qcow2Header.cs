using System.Buffers.Binary;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Qcow2;

/// <summary>
/// The qcow2 header (qemu docs/interop/qcow2.txt), versions 2 and 3, with the header extensions
/// a reader needs (backing format, external data file, encryption). All fields big-endian.
/// </summary>
public sealed record Qcow2Header
{
    public const uint Magic = 0x514649FB; // "QFI\xfb"
    public const int MinClusterBits = 9;
    public const int MaxClusterBits = 21;

    public const ulong IncompatibleDirty = 1UL << 0;
    public const ulong IncompatibleCorrupt = 1UL << 1;
    public const ulong IncompatibleExternalData = 1UL << 2;
    public const ulong IncompatibleCompressionType = 1UL << 3;
    public const ulong IncompatibleExtendedL2 = 1UL << 4;
    public const ulong IncompatibleKnown = IncompatibleDirty | IncompatibleCorrupt | IncompatibleExternalData | IncompatibleCompressionType | IncompatibleExtendedL2;

    private const uint ExtensionEnd = 0;
    private const uint ExtensionBackingFormat = 0xE2792ACA;
    private const uint ExtensionExternalDataFile = 0x44415441;
    private const uint ExtensionFullDiskEncryption = 0x0537BE77;

    public uint Version { get; init; }

    public int ClusterBits { get; init; }

    public long ClusterSize => 1L << ClusterBits;

    public ulong Size { get; init; }

    public uint CryptMethod { get; init; }

    public uint L1Size { get; init; }

    public ulong L1TableOffset { get; init; }

    public uint SnapshotCount { get; init; }

    public ulong IncompatibleFeatures { get; init; }

    public uint HeaderLength { get; init; }

    /// <summary>0 = deflate, 1 = zstd.</summary>
    public byte CompressionType { get; init; }

    public string? BackingFile { get; init; }

    public string? BackingFormat { get; init; }

    public string? ExternalDataFile { get; init; }

    public bool HasEncryptionExtension { get; init; }

    public bool ExtendedL2 => (IncompatibleFeatures & IncompatibleExtendedL2) != 0;

    public static bool HasMagic(ReadOnlySpan<byte> head) => head.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(head) == Magic;

    public static Qcow2Header Read(SourceFile file)
    {
        string path = file.Path;
        LinuxImageException Corrupt(string what) => new(DiagnosticCatalog.DiskCorrupt, path, path, what);

        // The fixed part is 72 bytes (v2) or at least 104 (v3); extensions follow, within the first cluster.
        var head = new byte[(int)Math.Min(file.Length, 1 << MaxClusterBits)];
        if (head.Length < 72)
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskTruncated, path, path, $"the qcow2 header needs 72 bytes but the file has {file.Length}");
        }
        file.ReadExactly(0, head, "qcow2 header");
        ReadOnlySpan<byte> b = head;
        uint version = BinaryPrimitives.ReadUInt32BigEndian(b[4..]);
        if (version is not (2 or 3))
        {
            throw new LinuxImageException(DiagnosticCatalog.UnsupportedDiskFeature, path, path, $"qcow2 version {version} (only versions 2 and 3 exist)");
        }
        int clusterBits = (int)BinaryPrimitives.ReadUInt32BigEndian(b[20..]);
        if (clusterBits is < MinClusterBits or > MaxClusterBits)
        {
            throw Corrupt($"the cluster size 2^{(uint)clusterBits} is outside 512 bytes to 2 MiB");
        }
        var header = new Qcow2Header
        {
            Version = version,
            ClusterBits = clusterBits,
            Size = BinaryPrimitives.ReadUInt64BigEndian(b[24..]),
            CryptMethod = BinaryPrimitives.ReadUInt32BigEndian(b[32..]),
            L1Size = BinaryPrimitives.ReadUInt32BigEndian(b[36..]),
            L1TableOffset = BinaryPrimitives.ReadUInt64BigEndian(b[40..]),
            SnapshotCount = BinaryPrimitives.ReadUInt32BigEndian(b[60..]),
            HeaderLength = 72,
        };
        if (version == 3)
        {
            if (b.Length < 104)
            {
                throw new LinuxImageException(DiagnosticCatalog.DiskTruncated, path, path, $"the qcow2 v3 header needs 104 bytes but the file has {file.Length}");
            }
            uint headerLength = BinaryPrimitives.ReadUInt32BigEndian(b[100..]);
            if (headerLength < 104 || headerLength > b.Length || headerLength > header.ClusterSize)
            {
                throw Corrupt($"the header length {headerLength} is outside 104 bytes to one cluster");
            }
            header = header with
            {
                IncompatibleFeatures = BinaryPrimitives.ReadUInt64BigEndian(b[72..]),
                HeaderLength = headerLength,
                CompressionType = headerLength > 104 ? b[104] : (byte)0,
            };
        }

        ulong backingOffset = BinaryPrimitives.ReadUInt64BigEndian(b[8..]);
        uint backingLength = BinaryPrimitives.ReadUInt32BigEndian(b[16..]);
        if (backingOffset != 0)
        {
            // qemu limits backing names to 1023 bytes and keeps them in the first cluster.
            // Unsigned arithmetic: the length is checked against the limit before it is subtracted from it.
            ulong limit = (ulong)Math.Min(header.ClusterSize, b.Length);
            if (backingLength == 0 || backingLength > 1023 || backingLength > limit || backingOffset > limit - backingLength)
            {
                throw Corrupt($"the backing file name ({backingLength} bytes at offset {backingOffset}) lies outside the header cluster");
            }
            header = header with { BackingFile = Encoding.UTF8.GetString(b.Slice((int)backingOffset, (int)backingLength)) };
        }
        return ParseExtensions(header, b[..(int)Math.Min(b.Length, header.ClusterSize)], path);
    }

    private static Qcow2Header ParseExtensions(Qcow2Header header, ReadOnlySpan<byte> cluster, string path)
    {
        int at = (int)header.HeaderLength;
        // Each extension takes at least 8 bytes, so this loop ends within one cluster.
        while (at + 8 <= cluster.Length)
        {
            uint type = BinaryPrimitives.ReadUInt32BigEndian(cluster[at..]);
            uint length = BinaryPrimitives.ReadUInt32BigEndian(cluster[(at + 4)..]);
            if (type == ExtensionEnd)
            {
                break;
            }
            if (length > (uint)(cluster.Length - at - 8))
            {
                throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, path, path, $"header extension 0x{type:X8} ({length} bytes at offset {at}) runs past the header cluster");
            }
            var data = cluster.Slice(at + 8, (int)length);
            switch (type)
            {
                case ExtensionBackingFormat:
                    header = header with { BackingFormat = Encoding.UTF8.GetString(data).TrimEnd('\0') };
                    break;
                case ExtensionExternalDataFile:
                    header = header with { ExternalDataFile = Encoding.UTF8.GetString(data).TrimEnd('\0') };
                    break;
                case ExtensionFullDiskEncryption:
                    header = header with { HasEncryptionExtension = true };
                    break;
            }
            at += 8 + (int)((length + 7) & ~7u);
        }
        return header;
    }
}
