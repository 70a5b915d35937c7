using Azure.LinuxImage.Engine.Conversion;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks.Vhd;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Engine.Validation.Boot;
using Azure.LinuxImage.Engine.Validation.Guest;

namespace Azure.LinuxImage.Engine.Validation;

/// <summary>What the image is for: an OS disk gets the guest rules, a data disk only the disk rules (R15 still holds).</summary>
public enum ImageKind
{
    OsDisk,
    DataDisk,
}

public sealed record ImageValidationResult(IReadOnlyList<RuleOutcome> Outcomes, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool HasErrors => Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
}

/// <summary>
/// The validate step: the disk rules on the VHD, then — for an OS disk — every guest rule on the
/// file systems inside it, read-only. One report (JSON, and SARIF for CI) lists every rule with the
/// severity the build gives it after NoWarn / WarningsAsErrors.
/// </summary>
public static class ImageValidator
{
    public static ImageValidationResult Validate(string imagePath, ImageKind kind, GuestValidationOptions guestOptions, DiagnosticOptions diagnosticOptions,
        string? jsonReportPath = null, string? sarifPath = null, IReadOnlyList<string>? patchActions = null, string? docsBaseUri = null)
    {
        string image = Path.GetFullPath(imagePath);
        var outcomes = new List<RuleOutcome>(StepTimings.Measure("validate: disk rules", () => DiskRules.Check(image)));
        // The guest is only read through a footer that describes the disk.
        DiagnosticDescriptor[] unreadable = [DiagnosticCatalog.RuleFixedVhd, DiagnosticCatalog.RuleFooterChecksum, DiagnosticCatalog.RuleFooterSize];
        bool readable = outcomes.All(o => o.Passed || !unreadable.Any(d => d.Code == o.Code));
        if (kind == ImageKind.OsDisk && readable)
        {
            outcomes.AddRange(StepTimings.Measure("validate: guest rules", () => GuestRules(image, guestOptions)));
        }
        var diagnostics = outcomes.Select(o => o.ToDiagnostic(diagnosticOptions)?.InGuest(image)).OfType<Diagnostic>().ToList();
        using var reports = StepTimings.Measure("validate: reports");
        Write(jsonReportPath, stream => ValidationReport.WriteJson(stream, image, outcomes, diagnosticOptions, patchActions, docsBaseUri));
        Write(sarifPath, stream => SarifWriter.Write(stream, outcomes, diagnosticOptions, ValidationReport.ToolVersion, image, docsBaseUri));
        return new ImageValidationResult(outcomes, diagnostics);
    }

    private static IReadOnlyList<RuleOutcome> GuestRules(string image, GuestValidationOptions options)
    {
        using var file = SourceFile.Open(image);
        long size = (long)VhdReader.ReadFooter(file).CurrentSize;
        using var volume = FileVolume.OpenRead(image, size);
        GuestMounts mounts;
        try
        {
            mounts = StepTimings.Measure("validate: open guest", () => GuestMounts.Open(volume, image));
        }
        catch (LinuxImageException e)
        {
            return [RuleOutcome.From("guest.mount", e)];
        }
        // What only the disk layer knows: LVM under the root (R4) and swap partitions (R14).
        var root = mounts.Root.Volume;
        options = options with
        {
            OsDiskLvm = root.IsLvm ? $"the root file system is on logical volume {root.Name}" : null,
            SwapPartitions = [.. mounts.SwapVolumes.Select(v => v.Name)],
        };
        var outcomes = new List<RuleOutcome>(mounts.Diagnostics.Select(d =>
            new RuleOutcome("guest.mount", d.Code, d.Descriptor.Requirement, false, d.Severity, d.Message, d.File)));
        outcomes.AddRange(GuestValidator.Validate(mounts, options));
        using var boot = StepTimings.Measure("validate: boot rules");
        outcomes.AddRange(BootRules.Check(volume, image, mounts, options));
        return outcomes;
    }

    private static void Write(string? path, Action<Stream> write)
    {
        if (path is null)
        {
            return;
        }
        try
        {
            using var buffer = new MemoryStream();
            write(buffer);
            // A report is either complete or absent: a half-written one must not look current.
            AtomicFile.WriteAllBytes(path, buffer.ToArray());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new LinuxImageException(DiagnosticCatalog.ReportWriteFailed, path, ex, path, ex.Message);
        }
    }
}
