using System.Globalization;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Settings;

/// <summary>A value the project gave that cannot be used, with what locates it in the project (the setting and, for an item, its Include).</summary>
public sealed record SettingProblem(Setting Setting, string? Item, Diagnostic Diagnostic);

/// <summary>
/// The values of every setting for one run, checked against the catalog: properties left empty take
/// the catalog's default; items are the catalog's defaults plus what was given, unless the values
/// come from the SDK's per-step files, where MSBuild has already applied the same defaults (so the
/// project can remove one). Key/value items are merged here, and only here: a later key wins.
/// </summary>
public sealed class ImageSettings
{
    private readonly Dictionary<Setting, List<(string Value, string? Key)>> given = [];
    private readonly List<SettingProblem> problems = [];

    /// <summary>The catalog's defaults alone: what the SDK and the command line apply when a project says nothing.</summary>
    public static ImageSettings Defaults { get; } = new();

    /// <summary>False once a settings file written by the SDK was read: its item lists are complete.</summary>
    public bool ApplyItemDefaults { get; private set; } = true;

    public IReadOnlyList<SettingProblem> Problems => problems;

    /// <summary>One value as the project or the command line gave it; for a key/value item, <paramref name="key"/> is its Include.</summary>
    public ImageSettings Add(Setting setting, string? value, string? key = null)
    {
        if (!given.TryGetValue(setting, out var list))
        {
            given[setting] = list = [];
        }
        value ??= string.Empty;
        if (setting.Shape == SettingShape.Property)
        {
            list.Clear();
        }
        if (Check(setting, value, key) is { } problem)
        {
            problems.Add(problem);
            return this;
        }
        list.Add((Canonical(setting, value.Trim()), key?.Trim()));
        return this;
    }

    /// <summary>
    /// Reads a per-step file the SDK writes: one line per value, <c>Name=value</c>, or
    /// <c>Name[key]=value</c> for a key/value item. Item lists in such a file are complete.
    /// </summary>
    public ImageSettings AddFile(string path)
    {
        ApplyItemDefaults = false;
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LinuxImageException(DiagnosticCatalog.SettingsFileInvalid, path, e, path, e.Message);
        }
        foreach (string line in lines)
        {
            if (line.Length == 0)
            {
                continue;
            }
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            int open = line.IndexOf('[', StringComparison.Ordinal);
            string name;
            string? key = null;
            string value;
            if (open > 0 && (eq < 0 || open < eq))
            {
                int close = line.IndexOf("]=", open, StringComparison.Ordinal);
                if (close < 0)
                {
                    throw new LinuxImageException(DiagnosticCatalog.SettingsFileInvalid, path, path, $"'{line}' is neither Name=value nor Name[key]=value");
                }
                name = line[..open];
                key = line[(open + 1)..close];
                value = line[(close + 2)..];
            }
            else if (eq > 0)
            {
                name = line[..eq];
                value = line[(eq + 1)..];
            }
            else
            {
                throw new LinuxImageException(DiagnosticCatalog.SettingsFileInvalid, path, path, $"'{line}' is neither Name=value nor Name[key]=value");
            }
            var setting = SettingCatalog.Find(name)
                ?? throw new LinuxImageException(DiagnosticCatalog.SettingsFileInvalid, path, path, $"'{name}' is no setting (the file is from another version of the SDK: rebuild)");
            if (setting.Shape == SettingShape.Property && value.Length == 0)
            {
                continue;
            }
            Add(setting, value, key);
        }
        return this;
    }

    /// <summary>A key/value item as the command line writes it: KEY=VALUE.</summary>
    public ImageSettings AddPair(Setting setting, string pair)
    {
        int eq = pair.IndexOf('=', StringComparison.Ordinal);
        return eq <= 0
            ? Problem(setting, pair, DiagnosticCatalog.SettingValueInvalid, setting.Name, pair, "write KEY=VALUE")
            : Add(setting, pair[(eq + 1)..], pair[..eq]);
    }

    public bool IsGiven(Setting setting) => given.TryGetValue(setting, out var list) && list.Count > 0;

    /// <summary>A property's value, the catalog's default when not given; null when neither says anything.</summary>
    public string? Text(Setting setting)
    {
        Expect(setting, SettingShape.Property);
        string? value = given.TryGetValue(setting, out var list) && list.Count > 0 ? list[^1].Value : null;
        return string.IsNullOrEmpty(value) ? setting.DefaultValue is { Length: > 0 } d ? d : null : value;
    }

    public bool Boolean(Setting setting) => string.Equals(Text(setting), "true", StringComparison.OrdinalIgnoreCase);

    public long? Integer(Setting setting) => Text(setting) is { } text ? long.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture) : null;

    public IReadOnlyList<string> Items(Setting setting)
    {
        Expect(setting, SettingShape.Item);
        var values = ApplyItemDefaults ? setting.Default.ToList() : [];
        if (given.TryGetValue(setting, out var list))
        {
            values.AddRange(list.Select(v => v.Value));
        }
        return values;
    }

    /// <summary>Key/value items in the order they were first named; a later item with the same key replaces the earlier one's value.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Pairs(Setting setting)
    {
        Expect(setting, SettingShape.KeyValueItem);
        var all = new List<KeyValuePair<string, string>>();
        if (ApplyItemDefaults)
        {
            all.AddRange(setting.Default.Select(d => new KeyValuePair<string, string>(d[..d.IndexOf('=', StringComparison.Ordinal)], d[(d.IndexOf('=', StringComparison.Ordinal) + 1)..])));
        }
        if (given.TryGetValue(setting, out var list))
        {
            all.AddRange(list.Select(v => new KeyValuePair<string, string>(v.Key!, v.Value)));
        }
        var merged = new List<KeyValuePair<string, string>>();
        foreach (var pair in all)
        {
            int at = merged.FindIndex(p => p.Key == pair.Key);
            if (at >= 0)
            {
                merged[at] = pair;
            }
            else
            {
                merged.Add(pair);
            }
        }
        return merged;
    }

    /// <summary>Throws the first problem (the command line reports all of them before that).</summary>
    public ImageSettings ThrowIfInvalid()
    {
        if (problems.Count > 0)
        {
            throw new LinuxImageException(problems[0].Diagnostic);
        }
        return this;
    }

    private static void Expect(Setting setting, SettingShape shape)
    {
        if (setting.Shape != shape)
        {
            throw new InvalidOperationException($"{setting.Name} is a {setting.Shape}, not a {shape}.");
        }
    }

    private SettingProblem? Check(Setting setting, string value, string? key)
    {
        string v = value.Trim();
        if (setting.Shape == SettingShape.KeyValueItem)
        {
            string k = (key ?? string.Empty).Trim();
            if (k.Length == 0)
            {
                return Make(setting, key, DiagnosticCatalog.SettingValueInvalid, setting.Name, key ?? string.Empty, "the key (Include) is empty");
            }
            if (k.Contains('=', StringComparison.Ordinal))
            {
                int eq = k.IndexOf('=', StringComparison.Ordinal);
                return Make(setting, key, DiagnosticCatalog.SettingItemKeyInvalid, setting.Name, k, k[..eq], k[(eq + 1)..]);
            }
            if (k.Any(char.IsWhiteSpace) || k.Contains('#', StringComparison.Ordinal))
            {
                return Make(setting, key, DiagnosticCatalog.SettingValueInvalid, setting.Name, k, "a key holds no spaces or '#'");
            }
            if (v.Length == 0)
            {
                return Make(setting, key, DiagnosticCatalog.SettingItemMetadataMissing, setting.Name, k, "Value");
            }
            if (v.Contains('\n', StringComparison.Ordinal) || v.Contains('#', StringComparison.Ordinal))
            {
                return Make(setting, key, DiagnosticCatalog.SettingValueInvalid, setting.Name, v, "a value holds no line break or '#' (waagent.conf would read a comment)");
            }
            return null;
        }
        if (setting.Shape == SettingShape.Item)
        {
            if (v.Length == 0)
            {
                return Make(setting, value, DiagnosticCatalog.SettingValueInvalid, setting.Name, value, "an item needs a non-empty Include");
            }
            if (v.Any(char.IsWhiteSpace))
            {
                return Make(setting, value, DiagnosticCatalog.SettingValueInvalid, setting.Name, value, "one item per kernel parameter: no spaces");
            }
            return null;
        }
        if (v.Length == 0)
        {
            return null;
        }
        switch (setting.Type)
        {
            case SettingType.Boolean when !v.Equals("true", StringComparison.OrdinalIgnoreCase) && !v.Equals("false", StringComparison.OrdinalIgnoreCase):
                return Make(setting, null, DiagnosticCatalog.SettingValueInvalid, setting.Name, v, "write true or false");
            case SettingType.Integer:
                if (!long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n))
                {
                    return Make(setting, null, DiagnosticCatalog.SettingValueInvalid, setting.Name, v, "write a whole number");
                }
                if (n < setting.Minimum || n > setting.Maximum)
                {
                    return Make(setting, null, DiagnosticCatalog.SettingValueInvalid, setting.Name, v,
                        string.Create(CultureInfo.InvariantCulture, $"it must be from {setting.Minimum} to {setting.Maximum}"));
                }
                return null;
            case SettingType.Choice when !setting.Choices.Any(c => c.Equals(v, StringComparison.OrdinalIgnoreCase)):
                return Make(setting, null, DiagnosticCatalog.SettingValueInvalid, setting.Name, v,
                    "write one of " + string.Join(", ", setting.Choices.Select(c => c.Length == 0 ? "nothing" : c)));
            case SettingType.Uri when !Uri.TryCreate(v, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeFile):
                return Make(setting, null, DiagnosticCatalog.SettingValueInvalid, setting.Name, v, "write an absolute http(s) or file URI");
            default:
                return null;
        }
    }

    private static string Canonical(Setting setting, string value) => setting.Type switch
    {
        SettingType.Choice when setting.Shape == SettingShape.Property => setting.Choices.First(c => c.Equals(value, StringComparison.OrdinalIgnoreCase)),
        SettingType.Boolean when value.Length > 0 => value.ToLowerInvariant(),
        SettingType.Uri when value.Length > 0 && !value.EndsWith('/') => value + "/",
        _ => value,
    };

    private ImageSettings Problem(Setting setting, string? item, DiagnosticDescriptor descriptor, params object?[] args)
    {
        problems.Add(Make(setting, item, descriptor, args));
        return this;
    }

    private static SettingProblem Make(Setting setting, string? item, DiagnosticDescriptor descriptor, params object?[] args) =>
        new(setting, item, Diagnostic.Create(descriptor, null, args));
}
