using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Validation;

/// <summary>
/// One checked fact: which rule, which diagnostic it reports when it fails, the requirement it
/// enforces, and whether it passed. Passed outcomes are kept so the report shows what was checked.
/// </summary>
public sealed record RuleOutcome(string RuleId, string Code, string Requirement, bool Passed, DiagnosticSeverity Severity, string Message, string? File)
{
    public static RuleOutcome Pass(string ruleId, DiagnosticDescriptor descriptor, string message, string? file = null) =>
        new(ruleId, descriptor.Code, descriptor.Requirement, true, DiagnosticSeverity.Info, message, file);

    public static RuleOutcome Fail(string ruleId, DiagnosticDescriptor descriptor, string? file, params object?[] args) =>
        new(ruleId, descriptor.Code, descriptor.Requirement, false, descriptor.DefaultSeverity, descriptor.Format(args), file);

    public static RuleOutcome FailAs(string ruleId, DiagnosticDescriptor descriptor, DiagnosticSeverity severity, string? file, params object?[] args) =>
        new(ruleId, descriptor.Code, descriptor.Requirement, false, severity, descriptor.Format(args), file);

    public static RuleOutcome From(string ruleId, LinuxImageException exception) =>
        new(ruleId, exception.Descriptor.Code, exception.Descriptor.Requirement, false, DiagnosticSeverity.Error, exception.Message, exception.File);

    /// <summary>The failure as a diagnostic, with NoWarn / WarningsAsErrors applied; null when passed or suppressed.</summary>
    public Diagnostic? ToDiagnostic(DiagnosticOptions options)
    {
        if (Passed)
        {
            return null;
        }
        var descriptor = DiagnosticCatalog.Find(Code) ?? throw new InvalidOperationException($"unknown code {Code}");
        return options.Apply(new Diagnostic(descriptor, Severity, Message, File));
    }
}
