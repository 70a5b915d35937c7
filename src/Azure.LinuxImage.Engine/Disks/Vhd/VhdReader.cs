using System.Buffers.Binary;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks.Raw;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vhd;

/// <summary>Fixed, dynamic and differencing VHD (Virtual Hard Disk Image Format Specification, v1.0).</summary>
public sealed class VhdReader : IDiskFormatReader
{
    public string Name => "vhd";

    public bool Probe(SourceFile file, ReadOnlySpan<byte> head)
    {
        // A dynamic disk starts with a copy of its footer; a fixed one has it only at the end.
        if (VhdFooter.HasCookie(head))
        {
            return true;
        }
        if (file.Length < VhdFooter.Size)
        {
            return false;
        }
        Span<byte> tail = stackalloc byte[VhdFooter.Size];
        file.ReadExactly(file.Length - VhdFooter.Size, tail, "VHD footer");
        return VhdFooter.HasCookie(tail);
    }

    public IDiskImage Open(SourceFile file, DiskOpenContext context)
    {
        var footer = ReadFooter(file);
        var warnings = new List<Diagnostic>();
        switch (footer.DiskType)
        {
            case VhdDiskType.Fixed:
            {
                long dataLength = file.Length - VhdFooter.Size;
                if (footer.CurrentSize > (ulong)dataLength)
                {
                    throw new LinuxImageException(DiagnosticCatalog.DiskTruncated, file.Path, file.Path,
                        $"the footer states {footer.CurrentSize} bytes of data but the file holds {dataLength}");
                }
                // The data before the footer is the disk: a footer stating less (the qemu 2.2.1–2.6
                // CHS rounding of R3) must not cut data off.
                if (IsChsSizingCreator(footer) || footer.CurrentSize != (ulong)dataLength)
                {
                    warnings.Add(Diagnostic.Create(DiagnosticCatalog.ChsRoundedSourceSize, file.Path,
                        file.Path, footer.CreatorApplication.TrimEnd(), dataLength, footer.Geometry.Bytes));
                }
                context.Warnings.AddRange(warnings);
                return new RawDiskImage(file, dataLength, DiskFormat.VhdFixed, warnings);
            }
            case VhdDiskType.Dynamic:
            case VhdDiskType.Differencing:
                if (IsChsSizingCreator(footer) && footer.Geometry.Bytes != (long)footer.CurrentSize && !footer.Geometry.IsMaximum)
                {
                    warnings.Add(Diagnostic.Create(DiagnosticCatalog.ChsRoundedSourceSize, file.Path,
                        file.Path, footer.CreatorApplication.TrimEnd(), footer.CurrentSize, footer.Geometry.Bytes));
                }
                context.Warnings.AddRange(warnings);
                return VhdDynamicDiskImage.Open(file, footer, context, warnings);
            default:
                throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, file.Path, file.Path,
                    $"the VHD footer names disk type {(uint)footer.DiskType}, which is none of fixed (2), dynamic (3) or differencing (4)");
        }
    }

    /// <summary>Virtual PC and qemu without force_size size their disks by CHS geometry (see qemu block/vpc.c).</summary>
    public static bool IsChsSizingCreator(VhdFooter footer) => footer.CreatorApplication is "vpc " or "qemu";

    /// <summary>Reads and checks the footer at the end of the file (falling back to the copy at the start, to give a precise error).</summary>
    public static VhdFooter ReadFooter(SourceFile file)
    {
        Span<byte> bytes = stackalloc byte[VhdFooter.Size];
        bool atEnd = false;
        if (file.Length >= VhdFooter.Size)
        {
            file.ReadExactly(file.Length - VhdFooter.Size, bytes, "VHD footer");
            atEnd = VhdFooter.HasCookie(bytes);
        }
        if (!atEnd)
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskTruncated, file.Path, file.Path,
                "the VHD footer is missing from the end of the file (the file was cut short or is still being written)");
        }
        var footer = VhdFooter.Parse(bytes);
        uint computed = VhdFooter.ComputeChecksum(bytes);
        if (computed != footer.Checksum)
        {
            throw new LinuxImageException(DiagnosticCatalog.VhdFooterChecksum, file.Path, file.Path, footer.Checksum, computed);
        }
        if (footer.CurrentSize > long.MaxValue / 2)
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, file.Path, file.Path, $"the footer states an impossible size of {footer.CurrentSize} bytes");
        }
        return footer;
    }

    internal static string DecodeLocator(VhdParentLocator locator, ReadOnlySpan<byte> data) => locator.PlatformCode switch
    {
        VhdParentLocator.W2ku or VhdParentLocator.W2ru => Encoding.Unicode.GetString(data).TrimEnd('\0'),
        VhdParentLocator.MacX => Uri.TryCreate(Encoding.UTF8.GetString(data).TrimEnd('\0'), UriKind.Absolute, out var uri) && uri.IsFile
            ? uri.LocalPath
            : Encoding.UTF8.GetString(data).TrimEnd('\0'),
        _ => string.Empty,
    };

    internal static uint ReadBatEntry(ReadOnlySpan<byte> bat, long index) => BinaryPrimitives.ReadUInt32BigEndian(bat.Slice((int)(index * 4), 4));
}
