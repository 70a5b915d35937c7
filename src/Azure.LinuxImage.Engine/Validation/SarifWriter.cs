using System.Text.Json;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Validation.Guest;

namespace Azure.LinuxImage.Engine.Validation;

/// <summary>
/// SARIF 2.1.0 for CI systems (GitHub code scanning, Azure DevOps): one rule per diagnostic code,
/// one result per outcome (passed ones as kind "pass"), guest paths relative to the GUEST base.
/// Severities are the ones after NoWarn / WarningsAsErrors; suppressed failures are left out.
/// </summary>
public static class SarifWriter
{
    public static void Write(Stream output, IReadOnlyList<RuleOutcome> outcomes, DiagnosticOptions options, string toolVersion)
    {
        var codes = outcomes.Select(o => o.Code).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("$schema", "https://json.schemastore.org/sarif-2.1.0.json");
        json.WriteString("version", "2.1.0");
        json.WriteStartArray("runs");
        json.WriteStartObject();

        json.WriteStartObject("tool");
        json.WriteStartObject("driver");
        json.WriteString("name", "Azure.LinuxImage.Sdk");
        json.WriteString("version", toolVersion);
        json.WriteStartArray("rules");
        foreach (string code in codes)
        {
            var descriptor = DiagnosticCatalog.Find(code)!;
            json.WriteStartObject();
            json.WriteString("id", code);
            json.WriteString("name", string.Concat(descriptor.Title.Split(' ', '-', '/').Select(w => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..])));
            json.WriteStartObject("shortDescription");
            json.WriteString("text", descriptor.Title);
            json.WriteEndObject();
            json.WriteString("helpUri", descriptor.HelpLink);
            json.WriteStartObject("defaultConfiguration");
            json.WriteString("level", Level(descriptor.DefaultSeverity));
            json.WriteEndObject();
            json.WriteStartObject("properties");
            json.WriteString("requirement", descriptor.Requirement);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();

        json.WriteStartObject("originalUriBaseIds");
        json.WriteStartObject("GUEST");
        json.WriteString("uri", "file:///");
        json.WriteStartObject("description");
        json.WriteString("text", "The root of the guest file system inside the image.");
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();

        json.WriteStartArray("results");
        foreach (var outcome in outcomes)
        {
            var severity = outcome.Passed ? (DiagnosticSeverity?)null : outcome.ToDiagnostic(options)?.Severity;
            if (!outcome.Passed && severity is null)
            {
                continue; // suppressed by NoWarn
            }
            json.WriteStartObject();
            json.WriteString("ruleId", outcome.Code);
            json.WriteNumber("ruleIndex", codes.IndexOf(outcome.Code));
            json.WriteString("kind", outcome.Passed ? "pass" : "fail");
            json.WriteString("level", outcome.Passed ? "none" : Level(severity!.Value));
            json.WriteStartObject("message");
            json.WriteString("text", outcome.Message);
            json.WriteEndObject();
            if (!string.IsNullOrEmpty(outcome.File))
            {
                json.WriteStartArray("locations");
                json.WriteStartObject();
                json.WriteStartObject("physicalLocation");
                json.WriteStartObject("artifactLocation");
                json.WriteString("uri", outcome.File.TrimStart('/'));
                json.WriteString("uriBaseId", "GUEST");
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteEndArray();
            }
            json.WriteStartObject("properties");
            json.WriteString("guestRule", outcome.RuleId);
            json.WriteString("requirement", outcome.Requirement);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndArray();

        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static string Level(DiagnosticSeverity severity) => severity switch
    {
        DiagnosticSeverity.Error => "error",
        DiagnosticSeverity.Warning => "warning",
        _ => "note",
    };
}
