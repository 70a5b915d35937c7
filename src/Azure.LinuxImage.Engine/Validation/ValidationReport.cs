using System.Text.Json;
using Azure.LinuxImage.Engine.Conversion;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Validation;

/// <summary>
/// The machine-readable result of validation ($(ImageName).validation.json): every rule with its
/// outcome and the severity it ended with after NoWarn / WarningsAsErrors, so CI reads the same
/// verdict as the build log.
/// </summary>
public sealed class ValidationReport
{
    public ValidationReport(string image, IReadOnlyList<RuleOutcome> outcomes, DiagnosticOptions options)
    {
        Image = image;
        Outcomes = outcomes;
        Diagnostics = outcomes.Select(o => o.ToDiagnostic()).OfType<Diagnostic>().Select(options.Apply).OfType<Diagnostic>().ToList();
    }

    public string Image { get; }

    public IReadOnlyList<RuleOutcome> Outcomes { get; }

    public IReadOnlyList<Diagnostic> Diagnostics { get; }

    public bool HasErrors => Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);

    public void WriteJson(string path)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("image", Image);
            json.WriteString("tool", "linuximage");
            json.WriteString("result", HasErrors ? "failed" : "passed");
            json.WriteNumber("errors", Diagnostics.Count(d => d.Severity == DiagnosticSeverity.Error));
            json.WriteNumber("warnings", Diagnostics.Count(d => d.Severity == DiagnosticSeverity.Warning));
            json.WriteStartArray("rules");
            foreach (var outcome in Outcomes)
            {
                var reported = outcome.ToDiagnostic() is { } d ? Diagnostics.FirstOrDefault(x => x.Code == d.Code && x.Message == d.Message) : null;
                json.WriteStartObject();
                json.WriteString("code", outcome.Rule.Code);
                json.WriteString("title", outcome.Rule.Title);
                json.WriteString("requirement", outcome.Rule.Requirement);
                json.WriteString("outcome", outcome.Passed ? "passed" : reported is null ? "suppressed" : "failed");
                if (!outcome.Passed)
                {
                    json.WriteString("severity", (reported?.Severity ?? outcome.Rule.DefaultSeverity).ToString().ToLowerInvariant());
                }
                json.WriteString("message", outcome.Message);
                json.WriteString("help", outcome.Rule.HelpLink);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        AtomicFile.WriteAllBytes(path, stream.ToArray());
    }
}
