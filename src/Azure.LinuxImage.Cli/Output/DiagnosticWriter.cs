using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Cli.Output;

/// <summary>
/// Prints diagnostics in MSBuild's canonical form on standard output, where the SDK's ToolTask turns
/// them into build errors and warnings, and counts what was reported after NoWarn / WarningsAsErrors.
/// </summary>
internal sealed class DiagnosticWriter(DiagnosticOptions options, string? projectFile, TextWriter output)
{
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
        output.WriteLine(applied.ToCanonicalString());
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

    public int ExitCode => Errors > 0 ? 1 : 0;
}
