using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vhdx;

/// <summary>One region of a VHDX file (the BAT or the metadata), 1 MiB aligned.</summary>
public readonly record struct VhdxRegion(Guid Id, long Offset, long Length, bool Required);

/// <summary>The region table (64 KiB, two copies at 192 KiB and 256 KiB, protected by CRC-32C).</summary>
public static class VhdxRegionTable
{
    public const int Size = 64 * 1024;
    public const long FirstOffset = 192 * 1024;
    public const long SecondOffset = 256 * 1024;
    public const uint Signature = 0x69676572; // "regi"
    public const int MaxEntries = 2047;

    public static readonly Guid BatRegion = new("2DC27766-F623-4200-9D64-115E9BFD4A08");
    public static readonly Guid MetadataRegion = new("8B7CA206-4790-4B9A-B8FE-575F050F886E");

    public static IReadOnlyList<VhdxRegion> Read(SourceFile file) => Read(new VhdxFileView(file));

    public static IReadOnlyList<VhdxRegion> Read(VhdxFileView file)
    {
        var buffer = new byte[Size];
        string? firstReason = null;
        foreach (long offset in new[] { FirstOffset, SecondOffset })
        {
            file.ReadExactly(offset, buffer, "VHDX region table");
            var regions = TryParse(buffer, out string reason);
            if (regions is not null)
            {
                return Validate(regions, file);
            }
            firstReason ??= reason;
            if (offset == SecondOffset)
            {
                throw new LinuxImageException(DiagnosticCatalog.VhdxHeadersInvalid, file.Path, file.Path,
                    $"region table 1: {firstReason}; region table 2: {reason}");
            }
        }
        throw new InvalidOperationException("unreachable");
    }

    private static List<VhdxRegion>? TryParse(byte[] b, out string reason)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(b) != Signature)
        {
            reason = "no 'regi' signature";
            return null;
        }
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4));
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 0);
        uint computed = Crc32C.Compute(b);
        if (stored != computed)
        {
            reason = $"checksum 0x{stored:X8} should be 0x{computed:X8}";
            return null;
        }
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8));
        if (count > MaxEntries)
        {
            reason = $"{count} entries (at most {MaxEntries})";
            return null;
        }
        var regions = new List<VhdxRegion>((int)count);
        for (int i = 0; i < count; i++)
        {
            var e = b.AsSpan(16 + (i * 32), 32);
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
            regions.Add(new VhdxRegion(new Guid(e[..16]), offset > long.MaxValue ? -1 : (long)offset,
                BinaryPrimitives.ReadUInt32LittleEndian(e[24..]), (BinaryPrimitives.ReadUInt32LittleEndian(e[28..]) & 1) != 0));
        }
        reason = string.Empty;
        return regions;
    }

    private static List<VhdxRegion> Validate(List<VhdxRegion> regions, VhdxFileView file)
    {
        foreach (var region in regions)
        {
            bool known = region.Id == BatRegion || region.Id == MetadataRegion;
            if (!known && region.Required)
            {
                throw new LinuxImageException(DiagnosticCatalog.UnsupportedDiskFeature, file.Path, file.Path, $"required VHDX region {region.Id}");
            }
            if (known && (region.Offset < VhdxFile.HeaderAreaSize || region.Offset % VhdxFile.Alignment != 0
                || region.Length == 0 || region.Length % VhdxFile.Alignment != 0 || region.Offset > file.Length - region.Length))
            {
                throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, file.Path, file.Path,
                    $"the {(region.Id == BatRegion ? "BAT" : "metadata")} region ({region.Length} bytes at offset {region.Offset}) is not 1 MiB aligned after the headers, or lies outside the file ({file.Length} bytes)");
            }
        }
        return regions;
    }
}

/// <summary>Layout constants of the VHDX file.</summary>
public static class VhdxFile
{
    public const long HeaderAreaSize = 1024 * 1024;
    public const long Alignment = 1024 * 1024;

    public static ReadOnlySpan<byte> Identifier => "vhdxfile"u8;
}
