using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vdi;

public enum VdiImageType : uint
{
    Dynamic = 1,
    Fixed = 2,
    Undo = 3,
    Differencing = 4,
}

/// <summary>
/// The VirtualBox VDI header, version 1.1 (VirtualBox src/VBox/Storage/VDICore.h): a 64-byte text
/// banner, a signature, then little-endian fields.
/// </summary>
public sealed record VdiHeader
{
    public const uint Signature = 0xBEDA107F;
    public const int Size = 512;

    public uint Version { get; init; }

    public uint HeaderSize { get; init; }

    public VdiImageType ImageType { get; init; }

    public uint BlockMapOffset { get; init; }

    public uint DataOffset { get; init; }

    public uint SectorSize { get; init; }

    public ulong DiskSize { get; init; }

    public uint BlockSize { get; init; }

    public uint BlockExtra { get; init; }

    public uint Blocks { get; init; }

    public uint BlocksAllocated { get; init; }

    public Guid ImageId { get; init; }

    public Guid LinkId { get; init; }

    public Guid ParentModificationId { get; init; }

    public static bool HasSignature(ReadOnlySpan<byte> head) => head.Length >= 0x48 && BinaryPrimitives.ReadUInt32LittleEndian(head[0x40..]) == Signature;

    public static VdiHeader Read(SourceFile file)
    {
        var b = new byte[Size];
        file.ReadExactly(0, b, "VDI header");
        var header = Parse(b);
        if (header.Version >> 16 != 1)
        {
            throw new LinuxImageException(DiagnosticCatalog.UnsupportedDiskFeature, file.Path, file.Path, $"VDI version {header.Version >> 16}.{header.Version & 0xFFFF} (only 1.x is read)");
        }
        return header;
    }

    public static VdiHeader Parse(ReadOnlySpan<byte> b) => new()
    {
        Version = BinaryPrimitives.ReadUInt32LittleEndian(b[0x44..]),
        HeaderSize = BinaryPrimitives.ReadUInt32LittleEndian(b[0x48..]),
        ImageType = (VdiImageType)BinaryPrimitives.ReadUInt32LittleEndian(b[0x4C..]),
        BlockMapOffset = BinaryPrimitives.ReadUInt32LittleEndian(b[0x154..]),
        DataOffset = BinaryPrimitives.ReadUInt32LittleEndian(b[0x158..]),
        SectorSize = BinaryPrimitives.ReadUInt32LittleEndian(b[0x168..]),
        DiskSize = BinaryPrimitives.ReadUInt64LittleEndian(b[0x170..]),
        BlockSize = BinaryPrimitives.ReadUInt32LittleEndian(b[0x178..]),
        BlockExtra = BinaryPrimitives.ReadUInt32LittleEndian(b[0x17C..]),
        Blocks = BinaryPrimitives.ReadUInt32LittleEndian(b[0x180..]),
        BlocksAllocated = BinaryPrimitives.ReadUInt32LittleEndian(b[0x184..]),
        ImageId = new Guid(b.Slice(0x188, 16)),
        LinkId = new Guid(b.Slice(0x1A8, 16)),
        ParentModificationId = new Guid(b.Slice(0x1B8, 16)),
    };
}
