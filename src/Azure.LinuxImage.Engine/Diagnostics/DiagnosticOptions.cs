namespace Azure.LinuxImage.Engine.Diagnostics;

/// <summary>
/// MSBuild's warning controls, applied by the engine itself so that the build log, the JSON report
/// and the command line agree on what is an error.
/// </summary>
public sealed class DiagnosticOptions
{
    public HashSet<string> NoWarn { get; } = new(StringComparer.OrdinalIgnoreCase);

    public HashSet<string> WarningsAsErrors { get; } = new(StringComparer.OrdinalIgnoreCase);

    public HashSet<string> WarningsNotAsErrors { get; } = new(StringComparer.OrdinalIgnoreCase);

    public bool TreatWarningsAsErrors { get; set; }

    /// <summary>Returns null when the diagnostic is suppressed.</summary>
    public Diagnostic? Apply(Diagnostic diagnostic)
    {
        if (diagnostic.Severity != DiagnosticSeverity.Warning)
        {
            return diagnostic;
        }
        if (NoWarn.Contains(diagnostic.Code))
        {
            return null;
        }
        bool promote = WarningsAsErrors.Contains(diagnostic.Code)
            || (TreatWarningsAsErrors && !WarningsNotAsErrors.Contains(diagnostic.Code));
        return promote ? diagnostic with { Severity = DiagnosticSeverity.Error } : diagnostic;
    }

    public static IEnumerable<string> SplitCodes(string? list) =>
        (list ?? string.Empty).Split([';', ',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
