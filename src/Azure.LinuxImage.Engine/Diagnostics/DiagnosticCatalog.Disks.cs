namespace Azure.LinuxImage.Engine.Diagnostics;

public static partial class DiagnosticCatalog
{
    // Disk formats handled by the skeleton and conversion (0100–0199).
    public static readonly DiagnosticDescriptor UnknownDiskFormat = Define("LIMG0100", DiagnosticSeverity.Error, "R1",
        "Unrecognised disk format", "'{0}' is not a disk image in a supported format (VHD, VHDX, qcow2, VMDK, VDI, raw): {1}. If it is a raw disk without a partition table, set <SourceDiskFormat>raw</SourceDiskFormat>.");

    public static readonly DiagnosticDescriptor DiskTruncated = Define("LIMG0101", DiagnosticSeverity.Error, "R1",
        "Disk image truncated", "'{0}' is truncated: {1}");

    public static readonly DiagnosticDescriptor DiskCorrupt = Define("LIMG0102", DiagnosticSeverity.Error, "R1",
        "Disk image damaged", "'{0}' is damaged: {1}");

    public static readonly DiagnosticDescriptor VhdFooterChecksum = Define("LIMG0103", DiagnosticSeverity.Error, "R3",
        "VHD footer checksum mismatch", "The VHD footer of '{0}' has a bad checksum (stored 0x{1:X8}, computed 0x{2:X8}); the file is damaged or was not written by a VHD tool.");

    public static readonly DiagnosticDescriptor ParentDiskMissing = Define("LIMG0104", DiagnosticSeverity.Error, "R1",
        "Parent disk not found", "The parent of differencing disk '{0}' was not found: {1}");

    public static readonly DiagnosticDescriptor ParentChainInvalid = Define("LIMG0105", DiagnosticSeverity.Error, "R1",
        "Invalid parent chain", "The parent chain of '{0}' is invalid: {1}");

    public static readonly DiagnosticDescriptor ParentIdentityMismatch = Define("LIMG0106", DiagnosticSeverity.Warning, "R1",
        "Parent disk changed", "The parent '{1}' of differencing disk '{0}' does not have the identity recorded in the child ({2}); the parent may have been modified since the child was created.");

    public static readonly DiagnosticDescriptor ChsRoundedSourceSize = Define("LIMG0107", DiagnosticSeverity.Warning, "R3",
        "Source VHD size may be CHS-rounded", "The source VHD '{0}' was written by '{1}', which rounds the stated size to CHS geometry; its true size is ambiguous. The SDK uses {2} bytes (the geometry's size is {3} bytes).");

    public static readonly DiagnosticDescriptor UnsupportedDiskFeature = Define("LIMG0108", DiagnosticSeverity.Error, "R1",
        "Unsupported disk feature", "'{0}' uses a feature the SDK does not support: {1}");

    public static readonly DiagnosticDescriptor ImageSizeTooSmall = Define("LIMG0150", DiagnosticSeverity.Error, "R2",
        "ImageSizeMiB smaller than the disk", "ImageSizeMiB={0} is smaller than the source disk ({1} bytes, {2} MiB rounded up); the SDK never shrinks a disk.");

    public static readonly DiagnosticDescriptor ImageSizeUnsupported = Define("LIMG0151", DiagnosticSeverity.Error, "R2",
        "Image size out of range", "The image size {0} bytes is outside what a VHD can describe ({1}).");

    // Disk-level validation rules of the produced image (0170–0189).
    public static readonly DiagnosticDescriptor RuleFixedVhd = Define("LIMG0170", DiagnosticSeverity.Error, "R1",
        "Image is a fixed VHD", "The image '{0}' is not a fixed VHD: {1}. Azure accepts only fixed-size VHD files.");

    public static readonly DiagnosticDescriptor RuleWholeMiB = Define("LIMG0171", DiagnosticSeverity.Error, "R2",
        "Virtual size is a whole number of MiB", "The image '{0}' has a virtual size of {1} bytes, which is not a whole number of MiB; Azure rejects it. The next whole MiB is {2} bytes.");

    public static readonly DiagnosticDescriptor RuleFooterChecksum = Define("LIMG0172", DiagnosticSeverity.Error, "R3",
        "Footer checksum", "The VHD footer of '{0}' has a wrong checksum (stored 0x{1:X8}, computed 0x{2:X8}).");

    public static readonly DiagnosticDescriptor RuleFooterSize = Define("LIMG0173", DiagnosticSeverity.Error, "R3",
        "Footer states the exact size", "The VHD footer of '{0}' does not state the real data size (current size {1}, original size {2}, data {3} bytes); the footer must be the last 512 bytes and state the exact size.");

    public static readonly DiagnosticDescriptor RuleAzureMaxSize = Define("LIMG0174", DiagnosticSeverity.Error, "R1",
        "Size within Azure's OS disk limit", "The image '{0}' is {1} bytes, larger than Azure's largest OS disk ({2} bytes, 4 TiB).");

    public static readonly DiagnosticDescriptor RuleGeometry = Define("LIMG0175", DiagnosticSeverity.Warning, "R3",
        "CHS geometry per specification", "The VHD footer of '{0}' has CHS geometry {1}, but the VHD specification's algorithm gives {2} for its size.");
}
