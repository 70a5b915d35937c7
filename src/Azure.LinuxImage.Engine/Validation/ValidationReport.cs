using System.Text.Json;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Validation;

/// <summary>The JSON validation report ($(ImageName).validation.json): every outcome, with the severity the build gives it.</summary>
public static class ValidationReport
{
    /// <summary>The engine's version, as the package that carries it is versioned.</summary>
    public static string ToolVersion { get; } =
        typeof(ValidationReport).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion.Split('+')[0]
        ?? typeof(ValidationReport).Assembly.GetName().Version?.ToString(3) ?? "1.0.0";

    public static int ErrorCount(IReadOnlyList<RuleOutcome> outcomes, DiagnosticOptions options) =>
        outcomes.Count(o => o.ToDiagnostic(options)?.Severity == DiagnosticSeverity.Error);

    /// <summary>The schema's file name under the documentation address; its version changes when a field changes meaning.</summary>
    public const string SchemaFile = "validation-report.schema.json";

    public static void WriteJson(Stream output, string? image, IReadOnlyList<RuleOutcome> outcomes, DiagnosticOptions options, IReadOnlyList<string>? patchActions = null, string? docsBaseUri = null)
    {
        string docs = docsBaseUri ?? Settings.SettingCatalog.HelpBaseUri.DefaultValue!;
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("$schema", docs + SchemaFile);
        json.WriteStartObject("tool");
        json.WriteString("name", "Azure.LinuxImage.Sdk");
        json.WriteString("version", ToolVersion);
        json.WriteEndObject();
        if (image is not null)
        {
            json.WriteString("image", image);
        }
        var diagnostics = outcomes.Select(o => (Outcome: o, Diagnostic: o.ToDiagnostic(options))).ToList();
        json.WriteStartObject("summary");
        json.WriteNumber("checked", outcomes.Count);
        json.WriteNumber("passed", outcomes.Count(o => o.Passed));
        json.WriteNumber("errors", diagnostics.Count(d => d.Diagnostic?.Severity == DiagnosticSeverity.Error));
        json.WriteNumber("warnings", diagnostics.Count(d => d.Diagnostic?.Severity == DiagnosticSeverity.Warning));
        json.WriteNumber("suppressed", diagnostics.Count(d => !d.Outcome.Passed && d.Diagnostic is null));
        json.WriteEndObject();
        if (patchActions is not null)
        {
            json.WriteStartArray("patched");
            foreach (string action in patchActions)
            {
                json.WriteStringValue(action);
            }
            json.WriteEndArray();
        }
        json.WriteStartArray("rules");
        foreach (var (outcome, diagnostic) in diagnostics)
        {
            json.WriteStartObject();
            json.WriteString("rule", outcome.RuleId);
            json.WriteString("code", outcome.Code);
            json.WriteString("requirement", outcome.Requirement);
            json.WriteString("result", outcome.Passed ? "passed" : diagnostic is null ? "suppressed" : "failed");
            if (diagnostic is not null)
            {
                json.WriteString("severity", diagnostic.Severity.ToString().ToLowerInvariant());
            }
            json.WriteString("message", outcome.Message);
            if (outcome.File is not null)
            {
                json.WriteString("file", outcome.File);
            }
            json.WriteString("help", DiagnosticCatalog.Find(outcome.Code)?.HelpUri(docs));
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
