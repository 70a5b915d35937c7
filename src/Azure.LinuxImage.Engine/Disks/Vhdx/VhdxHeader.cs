using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vhdx;

/// <summary>
/// One of the two 4 KiB VHDX headers (at 64 KiB and 128 KiB). The current header is the valid one
/// (signature, CRC-32C) with the higher sequence number; the other is the previous generation.
/// </summary>
public sealed record VhdxHeader
{
    public const int Size = 4096;
    public const long FirstOffset = 64 * 1024;
    public const long SecondOffset = 128 * 1024;
    public const uint Signature = 0x64616568; // "head", little-endian

    public ulong SequenceNumber { get; init; }

    public Guid FileWriteGuid { get; init; }

    public Guid DataWriteGuid { get; init; }

    public Guid LogGuid { get; init; }

    public ushort LogVersion { get; init; }

    public ushort Version { get; init; }

    public uint LogLength { get; init; }

    public ulong LogOffset { get; init; }

    /// <summary>Parses a header, or returns null with the reason when it is not a valid one.</summary>
    public static VhdxHeader? TryParse(ReadOnlySpan<byte> b, out string reason)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(b) != Signature)
        {
            reason = "no 'head' signature";
            return null;
        }
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
        Span<byte> copy = stackalloc byte[Size];
        b[..Size].CopyTo(copy);
        copy.Slice(4, 4).Clear();
        uint computed = Crc32C.Compute(copy);
        if (stored != computed)
        {
            reason = $"checksum 0x{stored:X8} should be 0x{computed:X8}";
            return null;
        }
        reason = string.Empty;
        return new VhdxHeader
        {
            SequenceNumber = BinaryPrimitives.ReadUInt64LittleEndian(b[8..]),
            FileWriteGuid = new Guid(b.Slice(16, 16)),
            DataWriteGuid = new Guid(b.Slice(32, 16)),
            LogGuid = new Guid(b.Slice(48, 16)),
            LogVersion = BinaryPrimitives.ReadUInt16LittleEndian(b[64..]),
            Version = BinaryPrimitives.ReadUInt16LittleEndian(b[66..]),
            LogLength = BinaryPrimitives.ReadUInt32LittleEndian(b[68..]),
            LogOffset = BinaryPrimitives.ReadUInt64LittleEndian(b[72..]),
        };
    }

    /// <summary>Reads both headers and returns the current one.</summary>
    public static VhdxHeader ReadCurrent(SourceFile file)
    {
        var buffer = new byte[Size];
        file.ReadExactly(FirstOffset, buffer, "first VHDX header");
        var first = TryParse(buffer, out string firstReason);
        file.ReadExactly(SecondOffset, buffer, "second VHDX header");
        var second = TryParse(buffer, out string secondReason);
        var current = (first, second) switch
        {
            (null, null) => throw new LinuxImageException(DiagnosticCatalog.VhdxHeadersInvalid, file.Path, file.Path,
                $"header 1: {firstReason}; header 2: {secondReason}"),
            (not null, null) => first,
            (null, not null) => second,
            _ => first!.SequenceNumber >= second!.SequenceNumber ? first : second,
        };
        if (current.Version != 1)
        {
            throw new LinuxImageException(DiagnosticCatalog.UnsupportedDiskFeature, file.Path, file.Path, $"VHDX version {current.Version} (only version 1 exists)");
        }
        return current;
    }
}
