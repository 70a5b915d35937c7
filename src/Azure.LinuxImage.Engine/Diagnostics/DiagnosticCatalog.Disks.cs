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
}
