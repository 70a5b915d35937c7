using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Settings;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Sdk;

/// <summary>
/// Walks every setting of the catalog through `dotnet build` of a small OS disk: changing it reruns
/// exactly the step it names and the ones after it, and nothing before; a publish setting reruns
/// nothing; and a value that cannot be valid is a LIMG error naming the setting. The changed and
/// invalid values are derived from the catalog, so a new setting is walked without touching this test.
/// </summary>
[TestClass]
public sealed class SettingsWalkTests
{
    private static readonly string[] Steps = ["ConvertImage", "AlignImage", "PatchImage", "ValidateImage"];

    [TestMethod]
    public void EverySetting_RerunsExactlyItsSteps_AndRefusesInvalidValues()
    {
        using var project = new ImageProject();
        SmallGuestDisk.Create(project["disk.img"]);
        File.Copy(project["disk.img"], project["disk2.img"]);
        var values = new Dictionary<Setting, string>();
        Write(project, values);
        var first = project.Build();
        Assert.AreEqual(0, first.ExitCode, first.Output);

        // ImageKind last: a data disk has no guest for the settings after it to change.
        var order = SettingCatalog.All.Where(s => s.Step != SettingStep.Publish).OrderBy(s => s == SettingCatalog.ImageKind).ToList();
        var report = new List<string>();
        foreach (var setting in order)
        {
            values[setting] = Changed(setting);
            Write(project, values);
            // Restored by the first build: the walk's time is the steps', not NuGet's.
            var build = project.Build("--no-restore");
            Assert.AreEqual(0, build.ExitCode, $"{setting.Name}={values[setting]}:\n{build.Output}");
            int from = (int)setting.Step;
            for (int i = 0; i < Steps.Length; i++)
            {
                bool skipped = build.Output.Contains($"Skipping target \"{Steps[i]}\" because all output files are up-to-date", StringComparison.Ordinal);
                if (skipped != (i < from))
                {
                    report.Add($"{setting.Name}: {Steps[i]} {(skipped ? "skipped" : "ran")}");
                }
            }
        }

        // Publish settings are no input of the build: changing every one of them reruns nothing.
        foreach (var setting in SettingCatalog.All.Where(s => s.Step == SettingStep.Publish))
        {
            values[setting] = Changed(setting);
        }
        Write(project, values);
        var publishOnly = project.Build("--no-restore");
        Assert.AreEqual(0, publishOnly.ExitCode, publishOnly.Output);
        foreach (string step in Steps)
        {
            if (!publishOnly.Output.Contains($"Skipping target \"{step}\"", StringComparison.Ordinal))
            {
                report.Add($"publish settings: {step} ran");
            }
        }
        Assert.AreEqual(0, report.Count, string.Join('\n', report));

        // Every setting that can hold an invalid value at once: each is reported, naming it.
        var invalid = SettingCatalog.All.Select(s => (Setting: s, Value: Invalid(s))).Where(p => p.Value is not null).ToList();
        Assert.IsTrue(invalid.Count >= 8, "most settings have values that cannot be valid");
        foreach (var (setting, value) in invalid)
        {
            values[setting] = value!;
        }
        Write(project, values);
        var refused = project.Build("-t:Rebuild", "--no-restore");
        Assert.AreNotEqual(0, refused.ExitCode, refused.Output);
        var missing = invalid.Where(p => !refused.Output.Split('\n').Any(l => l.Contains("error LIMG003", StringComparison.Ordinal) && l.Contains(p.Setting.Name, StringComparison.Ordinal)))
            .Select(p => $"{p.Setting.Name}={p.Value}").ToList();
        Assert.AreEqual(0, missing.Count, "no LIMG error names: " + string.Join(", ", missing) + "\n" + refused.Output);
    }

    /// <summary>A valid value other than the default, from the setting's type.</summary>
    private static string Changed(Setting s)
    {
        if (s == SettingCatalog.SourceDisk)
        {
            return "disk2.img";
        }
        if (s == SettingCatalog.ImageSizeMiB)
        {
            return (SmallGuestDisk.SizeMiB + 8).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return s.Shape switch
        {
            SettingShape.Item => $"limg.{s.Name.ToLowerInvariant()}=1",
            SettingShape.KeyValueItem => "Limg.Walk=1",
            _ => s.Type switch
            {
                SettingType.Boolean => s.DefaultValue == "true" ? "false" : "true",
                SettingType.Integer => (long.Parse(s.DefaultValue ?? "1", System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                SettingType.Choice => s.Choices.First(c => c.Length > 0 && !string.Equals(c, s.DefaultValue, StringComparison.OrdinalIgnoreCase)),
                SettingType.Uri => "https://docs.example/walk/",
                // MSBuild reads TreatWarningsAsErrors as a boolean (the .NET SDK defaults it to false);
                // WarningsNotAsErrors, changed before it, keeps every warning a warning so the build still passes.
                _ when s == SettingCatalog.TreatWarningsAsErrors => "true",
                _ when s == SettingCatalog.WarningsNotAsErrors => string.Join(';', DiagnosticCatalog.All.Where(d => d.DefaultSeverity == DiagnosticSeverity.Warning).Select(d => d.Code)),
                _ when s == SettingCatalog.NoWarn || s == SettingCatalog.WarningsAsErrors => "LIMG9999",
                _ => "limgwalk",
            },
        };
    }

    /// <summary>A value no setting of this type accepts, or null when every text is acceptable.</summary>
    private static string? Invalid(Setting s) => s.Shape switch
    {
        SettingShape.Item => "two words",
        SettingShape.KeyValueItem => "Limg.Invalid=",
        _ => s.Type switch
        {
            SettingType.Boolean => "maybe",
            SettingType.Integer => "abc",
            SettingType.Choice => "NoSuchChoice",
            SettingType.Uri => "not a uri",
            _ => null,
        },
    };

    private static void Write(ImageProject project, Dictionary<Setting, string> values)
    {
        var properties = new System.Text.StringBuilder("<SourceDisk>disk.img</SourceDisk>");
        var items = new System.Text.StringBuilder();
        foreach (var (setting, value) in values)
        {
            string v = System.Security.SecurityElement.Escape(value);
            switch (setting.Shape)
            {
                case SettingShape.Property when setting == SettingCatalog.SourceDisk:
                    properties.Clear().Append($"<SourceDisk>{v}</SourceDisk>");
                    break;
                case SettingShape.Property:
                    properties.Append($"<{setting.Name}>{v}</{setting.Name}>");
                    break;
                case SettingShape.Item:
                    items.Append($"<{setting.Name} Include=\"{v}\" />");
                    break;
                default:
                    int eq = value.IndexOf('=', StringComparison.Ordinal);
                    items.Append($"<{setting.Name} Include=\"{System.Security.SecurityElement.Escape(value[..eq])}\" Value=\"{System.Security.SecurityElement.Escape(value[(eq + 1)..])}\" />");
                    break;
            }
        }
        project.Write($"<PropertyGroup>{properties}</PropertyGroup><ItemGroup>{items}</ItemGroup>");
    }
}
