using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest;

namespace Azure.LinuxImage.Engine.Validation.Guest;

public sealed record GuestValidationResult(IReadOnlyList<GuestRuleOutcome> Outcomes, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool HasErrors => Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
}

/// <summary>
/// The validate entry point for the build: runs every guest rule on the final image, applies the
/// project's warning controls, and writes the JSON report and SARIF when paths are given.
/// </summary>
public static class GuestImageValidation
{
    public static GuestValidationResult Run(IGuestFileSystem fs, GuestValidationOptions options, DiagnosticOptions diagnosticOptions,
        string? jsonReportPath = null, string? sarifPath = null, IReadOnlyList<string>? patchActions = null, string toolVersion = "1.0.0")
    {
        var outcomes = GuestValidator.Validate(fs, options);
        var diagnostics = outcomes.Select(o => o.ToDiagnostic(diagnosticOptions)).OfType<Diagnostic>().ToList();
        Write(jsonReportPath, stream => GuestValidationReport.WriteJson(stream, outcomes, diagnosticOptions, patchActions));
        Write(sarifPath, stream => SarifWriter.Write(stream, outcomes, diagnosticOptions, toolVersion));
        return new GuestValidationResult(outcomes, diagnostics);
    }

    private static void Write(string? path, Action<Stream> write)
    {
        if (path is null)
        {
            return;
        }
        string temporary = path + ".tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            using (var stream = File.Create(temporary))
            {
                write(stream);
            }
            // A report is either complete or absent: a half-written one must not look current.
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new LinuxImageException(DiagnosticCatalog.ReportWriteFailed, path, ex, path, ex.Message);
        }
    }
}
