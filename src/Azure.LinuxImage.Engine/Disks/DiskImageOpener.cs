using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks.Qcow2;
using Azure.LinuxImage.Engine.Disks.Raw;
using Azure.LinuxImage.Engine.Disks.Vdi;
using Azure.LinuxImage.Engine.Disks.Vhd;
using Azure.LinuxImage.Engine.Disks.Vhdx;
using Azure.LinuxImage.Engine.Disks.Vmdk;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks;

/// <summary>Opens a disk image of any supported format, recognised by its content, never its name.</summary>
public static class DiskImageOpener
{
    public const int ProbeLength = 64 * 1024;

    /// <summary>
    /// Every container format, most specific first. Raw is not here: it is what a file is when no
    /// format claims it and it looks like a disk (see <see cref="RawDiskReader.LooksLikeDisk"/>).
    /// </summary>
    public static IReadOnlyList<IDiskFormatReader> Readers { get; } =
    [
        new VhdxReader(),
        new Qcow2Reader(),
        new VmdkReader(),
        new VdiReader(),
        new VhdReader(),
    ];

    public static IDiskImage Open(string path, DiskFormat? forcedFormat = null) =>
        Open(path, forcedFormat, new DiskOpenContext(), null);

    /// <summary>Parses a format name as users write it in SourceDiskFormat.</summary>
    public static DiskFormat? ParseFormatName(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => null,
        "raw" or "img" => DiskFormat.Raw,
        "vhd" or "vpc" => DiskFormat.VhdDynamic,
        "vhdx" => DiskFormat.Vhdx,
        "qcow2" => DiskFormat.Qcow2,
        "vmdk" => DiskFormat.Vmdk,
        "vdi" => DiskFormat.Vdi,
        _ => throw new LinuxImageException(DiagnosticCatalog.InvalidArgument, null, "SourceDiskFormat",
            $"'{name}' is not a known format (auto, raw, vhd, vhdx, qcow2, vmdk, vdi)"),
    };

    internal static IDiskImage Open(string path, DiskFormat? forcedFormat, DiskOpenContext context, string? child)
    {
        var file = SourceFile.Open(path);
        try
        {
            context.Enter(file.Path, child);
            if (forcedFormat == DiskFormat.Raw)
            {
                return new RawDiskImage(file);
            }
            int headLength = (int)Math.Min(ProbeLength, file.Length);
            var head = new byte[headLength];
            file.ReadExactly(0, head, "the file's first bytes");
            foreach (var reader in Readers)
            {
                if (reader.Probe(file, head))
                {
                    return reader.Open(file, context);
                }
            }
            if (RawDiskReader.LooksLikeDisk(file, head, out string reason))
            {
                return new RawDiskImage(file);
            }
            throw new LinuxImageException(DiagnosticCatalog.UnknownDiskFormat, file.Path, file.Path, reason);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }
}
