namespace Azure.LinuxImage.Engine.Diagnostics;

/// <summary>
/// Every diagnostic the product can report. Ranges: 0001–0099 general and build,
/// 0100–0199 disk formats read by the skeleton (raw, VHD) and conversion, 0200–0299 the other source
/// formats, 0300–0399 partitions and file systems, 0400–0599 guest patching and validation,
/// 0600–0699 publishing. One file per area (this class is partial); each code has a page under
/// docs/diagnostics/.
/// </summary>
public static partial class DiagnosticCatalog
{
    // No initializer: the parts of a partial class initialise in an unspecified order, so the list
    // is created by whichever Define runs first.
    private static List<DiagnosticDescriptor>? allDescriptors;

    public static IReadOnlyList<DiagnosticDescriptor> All => allDescriptors ?? [];

    public static DiagnosticDescriptor? Find(string code) =>
        allDescriptors?.Find(d => string.Equals(d.Code, code, StringComparison.OrdinalIgnoreCase));

    private static DiagnosticDescriptor Define(string code, DiagnosticSeverity severity, string requirement, string title, string template)
    {
        var descriptor = new DiagnosticDescriptor(code, severity, requirement, title, template);
        (allDescriptors ??= []).Add(descriptor);
        return descriptor;
    }

    // General (0001–0099).
    public static readonly DiagnosticDescriptor SourceDiskNotSet = Define("LIMG0001", DiagnosticSeverity.Error, "R1",
        "SourceDisk not set", "The SourceDisk property is not set. Name the disk image to convert, e.g. <SourceDisk>disks/mydistro.vhdx</SourceDisk>.");

    public static readonly DiagnosticDescriptor SourceDiskMissing = Define("LIMG0002", DiagnosticSeverity.Error, "R1",
        "Source disk not found", "The source disk '{0}' does not exist.");

    public static readonly DiagnosticDescriptor SourceDiskUnreadable = Define("LIMG0003", DiagnosticSeverity.Error, "R1",
        "Source disk unreadable", "The source disk '{0}' cannot be read: {1}");

    public static readonly DiagnosticDescriptor InvalidArgument = Define("LIMG0004", DiagnosticSeverity.Error, "-",
        "Invalid setting", "Invalid value for {0}: {1}");

    public static readonly DiagnosticDescriptor OutputWriteFailed = Define("LIMG0005", DiagnosticSeverity.Error, "-",
        "Output cannot be written", "The output '{0}' cannot be written: {1}");

    public static readonly DiagnosticDescriptor InternalError = Define("LIMG0006", DiagnosticSeverity.Error, "-",
        "Internal error", "An unexpected internal error occurred ({0}). Please report it with the build log: {1}");

    public static readonly DiagnosticDescriptor SourceIsOutput = Define("LIMG0007", DiagnosticSeverity.Error, "-",
        "Source and output are the same file", "The source disk '{0}' is also the output image; the SDK never writes its source. Choose another ImageName or OutDir.");

    public static readonly DiagnosticDescriptor ImageNotBuilt = Define("LIMG0008", DiagnosticSeverity.Error, "-",
        "Image not built", "The image '{0}' does not exist or was not completed by the convert step; build the project again.");

    public static readonly DiagnosticDescriptor PatchJournalDamaged = Define("LIMG0009", DiagnosticSeverity.Error, "-",
        "Patch journal unusable", "The patch journal '{0}' cannot be used: {1}. Rebuild the image (dotnet build -t:Rebuild).");

    // Raised by the SDK's MSBuild layer itself (the task or the package), listed here so the code stays taken.
    public static readonly DiagnosticDescriptor ToolMissing = Define("LIMG0010", DiagnosticSeverity.Error, "-",
        "linuximage tool missing", "The linuximage tool was not found at '{0}'; the Azure.LinuxImage.Sdk package is incomplete. Restore it again.");

    public static readonly DiagnosticDescriptor SdkUsedAsPackageReference = Define("LIMG0011", DiagnosticSeverity.Error, "-",
        "SDK referenced as a package", "Azure.LinuxImage.Sdk is an MSBuild project SDK, not a package to reference. Remove the PackageReference and write <Project Sdk=\"Azure.LinuxImage.Sdk/1.0.0\"> in an .imgproj instead.");

    // Raised by the SDK's MSBuild layer (the LockLinuxImageBuild task); the text is kept in step there.
    public static readonly DiagnosticDescriptor BuildInProgress = Define("LIMG0012", DiagnosticSeverity.Error, "-",
        "Another build of this image is running", "Another build of this project is writing the image (its lock '{0}' is held); waited {1} s. Let that build finish (Visual Studio or another dotnet build), or raise LinuxImageBuildLockTimeout.");

    public static readonly DiagnosticDescriptor SourceDiskIsDirectory = Define("LIMG0013", DiagnosticSeverity.Error, "R1",
        "Source disk is a folder", "The source disk '{0}' is a folder, not a disk image file. Name the image file itself in SourceDisk, e.g. <SourceDisk>disks/mydistro.vhdx</SourceDisk>.");
}
