using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Validation;

/// <summary>The result of one validation rule: every rule appears in the report, passed or not.</summary>
public sealed record RuleOutcome(DiagnosticDescriptor Rule, bool Passed, string Message, string? File)
{
    public static RuleOutcome Pass(DiagnosticDescriptor rule, string message, string? file = null) => new(rule, true, message, file);

    public static RuleOutcome Fail(DiagnosticDescriptor rule, string? file, params object?[] args) => new(rule, false, rule.Format(args), file);

    public Diagnostic? ToDiagnostic() => Passed ? null : new Diagnostic(Rule, Rule.DefaultSeverity, Message, File);
}
