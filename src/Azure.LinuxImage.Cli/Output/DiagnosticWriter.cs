using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Cli.Output;

/// <summary>
/// Prints diagnostics in MSBuild's canonical form on standard error (the SDK's ToolTask reads both
/// streams and turns them into build errors and warnings) and results on standard output, and
/// counts what was reported after NoWarn / WarningsAsErrors.
/// </summary>
internal sealed class DiagnosticWriter(DiagnosticOptions options, string? projectFile, TextWriter output, TextWriter errors)
{
    private readonly List<Diagnostic> reported = [];

    /// <summary>Everything reported, as printed: for --json output.</summary>
    public IReadOnlyList<Diagnostic> Reported => reported;

    public int Errors { get; private set; }

    public int Warnings { get; private set; }

    public void Report(Diagnostic diagnostic)
    {
        if (options.Apply(diagnostic) is { } applied)
        {
            ReportApplied(applied);
        }
    }

    /// <summary>Prints a diagnostic whose severity NoWarn / WarningsAsErrors have already decided.</summary>
    public void ReportApplied(Diagnostic applied)
    {
        if (applied.File is null && projectFile is not null)
        {
            applied = applied with { File = projectFile };
        }
        if (applied.Severity == DiagnosticSeverity.Error)
        {
            Errors++;
        }
        else if (applied.Severity == DiagnosticSeverity.Warning)
        {
            Warnings++;
        }
        reported.Add(applied);
        errors.WriteLine(applied.ToCanonicalString());
    }

    public void Report(IEnumerable<Diagnostic> diagnostics)
    {
        foreach (var d in diagnostics)
        {
            Report(d);
        }
    }

    public void ReportApplied(IEnumerable<Diagnostic> diagnostics)
    {
        foreach (var d in diagnostics)
        {
            ReportApplied(d);
        }
    }

    public void Info(string message) => output.WriteLine(message);

    public int ExitCode => Errors == 0 ? ExitCodes.Success
        : reported.Any(d => d.Severity == DiagnosticSeverity.Error && d.Code == DiagnosticCatalog.InternalError.Code) ? ExitCodes.Internal
        : ExitCodes.Rejected;
}
