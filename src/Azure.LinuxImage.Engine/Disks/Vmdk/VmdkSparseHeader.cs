using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.Disks.Vmdk;

/// <summary>
/// The 512-byte header of a hosted sparse extent ("KDMV", VMware Virtual Disk Format 1.1), all
/// fields little-endian. Sizes and offsets are in 512-byte sectors.
/// </summary>
public sealed record VmdkSparseHeader
{
    public const int Size = 512;
    public const uint Magic = 0x564D444B; // "KDMV" read little-endian
    public const ulong GrainDirectoryAtEnd = ulong.MaxValue;

    public const uint FlagRedundantTable = 1 << 1;
    public const uint FlagZeroedGrain = 1 << 2;
    public const uint FlagCompressed = 1 << 16;
    public const uint FlagMarkers = 1 << 17;

    public uint Version { get; init; }

    public uint Flags { get; init; }

    public ulong Capacity { get; init; }

    public ulong GrainSize { get; init; }

    public ulong DescriptorOffset { get; init; }

    public ulong DescriptorSize { get; init; }

    public uint GtesPerGt { get; init; }

    public ulong GdOffset { get; init; }

    public ulong OverHead { get; init; }

    public ushort CompressAlgorithm { get; init; }

    public bool Compressed => (Flags & FlagCompressed) != 0;

    public bool HasMarkers => (Flags & FlagMarkers) != 0;

    public static bool HasMagic(ReadOnlySpan<byte> b) => b.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(b) == Magic;

    public static VmdkSparseHeader Parse(ReadOnlySpan<byte> b) => new()
    {
        Version = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]),
        Flags = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
        Capacity = BinaryPrimitives.ReadUInt64LittleEndian(b[12..]),
        GrainSize = BinaryPrimitives.ReadUInt64LittleEndian(b[20..]),
        DescriptorOffset = BinaryPrimitives.ReadUInt64LittleEndian(b[28..]),
        DescriptorSize = BinaryPrimitives.ReadUInt64LittleEndian(b[36..]),
        GtesPerGt = BinaryPrimitives.ReadUInt32LittleEndian(b[44..]),
        GdOffset = BinaryPrimitives.ReadUInt64LittleEndian(b[56..]),
        OverHead = BinaryPrimitives.ReadUInt64LittleEndian(b[64..]),
        CompressAlgorithm = BinaryPrimitives.ReadUInt16LittleEndian(b[77..]),
    };
}
