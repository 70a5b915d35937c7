using System.Text.Json;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Validation.Guest;

namespace Azure.LinuxImage.Engine.Validation;

/// <summary>
/// SARIF 2.1.0 for CI systems (GitHub code scanning, Azure DevOps): one rule per diagnostic code,
/// one result per outcome (passed ones as kind "pass"). Files on the build machine (the image) are
/// relative to the HOST base, the image's folder; files inside the image relative to the GUEST base,
/// the guest's root, which has no address on the build machine. Help links are absolute, under the
/// documentation address of the LinuxImageHelpBaseUri setting. Severities are the ones after NoWarn /
/// WarningsAsErrors; suppressed failures are left out.
/// </summary>
public static partial class SarifWriter
{
    public const string HostBase = "HOST";
    public const string GuestBase = "GUEST";

    public static void Write(Stream output, IReadOnlyList<RuleOutcome> outcomes, DiagnosticOptions options, string toolVersion, string? imagePath = null, string? docsBaseUri = null)
    {
        string? image = imagePath is null ? null : Path.GetFullPath(imagePath);
        string docs = docsBaseUri ?? Settings.SettingCatalog.HelpBaseUri.DefaultValue!;
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
        json.WriteString("semanticVersion", toolVersion);
        json.WriteString("informationUri", docs + "requirements.md");
        json.WriteStartArray("rules");
        foreach (string code in codes)
        {
            var descriptor = DiagnosticCatalog.Find(code)!;
            json.WriteStartObject();
            json.WriteString("id", code);
            json.WriteString("name", string.Concat(descriptor.Title.Split(' ', '-', '/').Select(w => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..])));
            json.WriteStartObject("shortDescription");
            json.WriteString("text", Sentence(descriptor.Title));
            json.WriteEndObject();
            json.WriteStartObject("fullDescription");
            json.WriteString("text", Sentence(descriptor.MessageTemplate));
            json.WriteEndObject();
            json.WriteString("helpUri", descriptor.HelpUri(docs));
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
        if (image is not null)
        {
            json.WriteStartObject(HostBase);
            json.WriteString("uri", new Uri(Path.GetDirectoryName(image)!.TrimEnd('/') + "/").AbsoluteUri);
            json.WriteStartObject("description");
            json.WriteString("text", "The folder of the image on the build machine.");
            json.WriteEndObject();
            json.WriteEndObject();
        }
        // No uri: the guest's root is inside the image, not a place on the build machine.
        json.WriteStartObject(GuestBase);
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
            json.WriteString("text", Sentence(outcome.Message));
            json.WriteEndObject();
            if (!string.IsNullOrEmpty(outcome.File))
            {
                bool onHost = image is not null && Path.IsPathFullyQualified(outcome.File) && Path.GetFullPath(outcome.File) == image;
                string relative = onHost ? Path.GetFileName(image!) : outcome.File.TrimStart('/');
                json.WriteStartArray("locations");
                json.WriteStartObject();
                json.WriteStartObject("physicalLocation");
                json.WriteStartObject("artifactLocation");
                json.WriteString("uri", string.Join('/', relative.Split('/').Select(Uri.EscapeDataString)));
                json.WriteString("uriBaseId", onHost ? HostBase : GuestBase);
                json.WriteEndObject();
                // A region, as SARIF consumers expect one (SARIF2017): the whole image, or the line a
                // guest rule names; a finding about a whole guest file points at its first line.
                json.WriteStartObject("region");
                if (onHost)
                {
                    json.WriteNumber("byteOffset", 0);
                    json.WriteNumber("byteLength", new FileInfo(image!).Length);
                }
                else
                {
                    var line = LineInMessage().Match(outcome.Message);
                    json.WriteNumber("startLine", line.Success ? int.Parse(line.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 1);
                }
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

    [System.Text.RegularExpressions.GeneratedRegex(@"\bline (\d{1,7})\b")]
    private static partial System.Text.RegularExpressions.Regex LineInMessage();

    /// <summary>SARIF asks for messages that are whole sentences (SARIF2001).</summary>
    private static string Sentence(string text)
    {
        string t = text.TrimEnd();
        return t.EndsWith('.') || t.EndsWith('?') || t.EndsWith('!') ? t : t + ".";
    }

    private static string Level(DiagnosticSeverity severity) => severity switch
    {
        DiagnosticSeverity.Error => "error",
        DiagnosticSeverity.Warning => "warning",
        _ => "note",
    };
}
