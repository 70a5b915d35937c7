using System.CommandLine;
using Azure.LinuxImage.Cli.Commands;
using Azure.LinuxImage.Cli.Output;
using Azure.LinuxImage.Engine.Settings;

namespace Azure.LinuxImage.Cli.Settings;

/// <summary>
/// The command line's options for the settings of some steps, made from the settings catalog: one
/// option per setting, named by the catalog, with the catalog's defaults. The SDK passes the same
/// settings as its per-step files (--settings-file), which hold the values MSBuild has evaluated.
/// </summary>
internal sealed class SettingOptions
{
    private readonly List<(Setting Setting, Option Option)> options = [];

    public SettingOptions(params SettingStep[] steps)
    {
        foreach (var setting in SettingCatalog.All.Where(s => s.Option is not null && steps.Contains(s.Step)))
        {
            string description = setting.Documentation + (setting.Default.Count > 0 ? $" (default: {string.Join(' ', setting.Default)})" : string.Empty);
            Option option = setting.IsItem
                ? new Option<string[]>(setting.Option!) { Description = description, AllowMultipleArgumentsPerToken = false }
                : setting.Type == SettingType.Boolean
                    ? new Option<string?>(setting.Option!) { Description = description + "; alone means true", Arity = ArgumentArity.ZeroOrOne }
                    : new Option<string?>(setting.Option!) { Description = description };
            options.Add((setting, option));
        }
    }

    public Option<string[]> SettingsFiles { get; } = new("--settings-file")
    {
        Description = "A file of settings as the SDK writes them (Name=value per line); its item lists are complete, without the defaults added again.",
        AllowMultipleArgumentsPerToken = false,
    };

    public void AddTo(Command command)
    {
        foreach (var (_, option) in options)
        {
            command.Options.Add(option);
        }
        command.Options.Add(SettingsFiles);
    }

    /// <summary>
    /// The settings of this run: the SDK's files, then the options, then secrets from the
    /// environment. Every refused value is reported at its place in the project file; then the
    /// command stops.
    /// </summary>
    public ImageSettings Read(ParseResult result, DiagnosticWriter writer, string? projectFile)
    {
        var settings = new ImageSettings();
        foreach (string file in result.GetValue(SettingsFiles) ?? [])
        {
            settings.AddFile(file);
        }
        foreach (var (setting, option) in options)
        {
            var parsed = result.GetResult(option);
            if (parsed is null || parsed.Implicit)
            {
                continue;
            }
            if (option is Option<string[]> many)
            {
                foreach (string value in result.GetValue(many) ?? [])
                {
                    if (setting.Shape == SettingShape.KeyValueItem)
                    {
                        settings.AddPair(setting, value);
                    }
                    else
                    {
                        settings.Add(setting, value);
                    }
                }
            }
            else
            {
                string? value = result.GetValue((Option<string?>)option);
                settings.Add(setting, value is null && setting.Type == SettingType.Boolean ? "true" : value);
            }
        }
        foreach (var setting in SettingCatalog.All.Where(s => s.EnvironmentVariable is not null && !settings.IsGiven(s)))
        {
            if (Environment.GetEnvironmentVariable(setting.EnvironmentVariable!) is { Length: > 0 } fromEnvironment)
            {
                settings.Add(setting, fromEnvironment);
            }
        }
        if (settings.Problems.Count > 0)
        {
            foreach (var problem in settings.Problems)
            {
                writer.Report(ProjectFileLocator.Locate(problem, projectFile));
            }
            throw new ReportedFailureException();
        }
        return settings;
    }
}
