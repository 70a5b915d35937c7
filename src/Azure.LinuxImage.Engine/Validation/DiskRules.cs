using Azure.LinuxImage.Engine.Conversion;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks.Vhd;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Validation;

/// <summary>The disk-level rules: what Azure checks when an image is created from the VHD (R1, R2, R3, R15).</summary>
public static class DiskRules
{
    /// <summary>Azure's largest OS disk (managed disk P50 and above cap OS disks at 4 TiB; see docs/diagnostics/LIMG0174.md).</summary>
    public const long AzureMaxOsDiskBytes = 4L * 1024 * 1024 * 1024 * 1024;

    public static IReadOnlyList<RuleOutcome> Check(string imagePath)
    {
        string image = Path.GetFullPath(imagePath);
        var outcomes = new List<RuleOutcome>();
        using var file = SourceFile.Open(image);
        Span<byte> bytes = stackalloc byte[VhdFooter.Size];
        if (file.Length < VhdFooter.Size)
        {
            outcomes.Add(RuleOutcome.Fail("disk.fixed-vhd", DiagnosticCatalog.RuleFixedVhd, image, image, "the file is smaller than a VHD footer"));
            return outcomes;
        }
        file.ReadExactly(file.Length - VhdFooter.Size, bytes, "VHD footer");
        if (!VhdFooter.HasCookie(bytes))
        {
            outcomes.Add(RuleOutcome.Fail("disk.fixed-vhd", DiagnosticCatalog.RuleFixedVhd, image, image, "its last 512 bytes are not a VHD footer"));
            return outcomes;
        }
        var footer = VhdFooter.Parse(bytes);
        long dataLength = file.Length - VhdFooter.Size;

        outcomes.Add(footer.DiskType == VhdDiskType.Fixed
            ? RuleOutcome.Pass("disk.fixed-vhd", DiagnosticCatalog.RuleFixedVhd, "The image is a fixed VHD (disk type 2).", image)
            : RuleOutcome.Fail("disk.fixed-vhd", DiagnosticCatalog.RuleFixedVhd, image, image, $"its disk type is {(uint)footer.DiskType}, not 2 (fixed)"));

        uint computed = VhdFooter.ComputeChecksum(bytes);
        outcomes.Add(computed == footer.Checksum
            ? RuleOutcome.Pass("disk.footer-checksum", DiagnosticCatalog.RuleFooterChecksum, "The footer checksum is correct.", image)
            : RuleOutcome.Fail("disk.footer-checksum", DiagnosticCatalog.RuleFooterChecksum, image, image, footer.Checksum, computed));

        outcomes.Add((long)footer.CurrentSize == dataLength && footer.OriginalSize == footer.CurrentSize
            ? RuleOutcome.Pass("disk.footer-size", DiagnosticCatalog.RuleFooterSize, $"The footer states the exact data size ({dataLength} bytes) and is the file's last 512 bytes.", image)
            : RuleOutcome.Fail("disk.footer-size", DiagnosticCatalog.RuleFooterSize, image, image, footer.CurrentSize, footer.OriginalSize, dataLength));

        var geometry = VhdGeometry.FromSize((long)footer.CurrentSize);
        outcomes.Add(geometry == footer.Geometry
            ? RuleOutcome.Pass("disk.geometry", DiagnosticCatalog.RuleGeometry, $"The CHS geometry {geometry.Cylinders}/{geometry.Heads}/{geometry.SectorsPerTrack} follows the VHD specification.", image)
            : RuleOutcome.Fail("disk.geometry", DiagnosticCatalog.RuleGeometry, image, image,
                $"{footer.Geometry.Cylinders}/{footer.Geometry.Heads}/{footer.Geometry.SectorsPerTrack}", $"{geometry.Cylinders}/{geometry.Heads}/{geometry.SectorsPerTrack}"));

        outcomes.Add(footer.CurrentSize % ImageSizing.MiB == 0 && footer.CurrentSize > 0
            ? RuleOutcome.Pass("disk.whole-mib", DiagnosticCatalog.RuleWholeMiB, $"The virtual size {footer.CurrentSize} bytes is {footer.CurrentSize / ImageSizing.MiB} MiB.", image)
            : RuleOutcome.Fail("disk.whole-mib", DiagnosticCatalog.RuleWholeMiB, image, image, footer.CurrentSize, ImageSizing.RoundUpToMiB((long)Math.Min(footer.CurrentSize, long.MaxValue / 2))));

        outcomes.Add(footer.CurrentSize <= AzureMaxOsDiskBytes
            ? RuleOutcome.Pass("disk.azure-max-size", DiagnosticCatalog.RuleAzureMaxSize, "The virtual size is within Azure's 4 TiB OS disk limit.", image)
            : RuleOutcome.Fail("disk.azure-max-size", DiagnosticCatalog.RuleAzureMaxSize, image, image, footer.CurrentSize, AzureMaxOsDiskBytes));
        return outcomes;
    }
}
