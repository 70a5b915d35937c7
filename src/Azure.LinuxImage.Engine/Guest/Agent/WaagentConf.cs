using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Guest.Agent;

/// <summary>
/// /etc/waagent.conf, read the way the agent reads it (ConfigurationProvider: '#' lines are
/// comments, the value ends at a '#', surrounding quotes and blanks are dropped) and edited in place
/// so that the distribution's comments and order survive.
/// </summary>
public sealed class WaagentConf
{
    public const string DefaultPath = "/etc/waagent.conf";

    private readonly List<string> lines;

    private WaagentConf(string path, List<string> lines)
    {
        Path = path;
        this.lines = lines;
    }

    public string Path { get; }

    public static WaagentConf Parse(string path, string text) => new(path, [.. text.Split('\n')]);

    public override string ToString() => string.Join('\n', lines);

    /// <summary>Keys set more than once, with their 1-based line numbers.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>> Duplicates()
    {
        var seen = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < lines.Count; i++)
        {
            if (TryParseLine(lines[i], out string key, out _))
            {
                if (!seen.TryGetValue(key, out var list))
                {
                    seen[key] = list = [];
                }
                list.Add(i + 1);
            }
        }
        return seen.Where(p => p.Value.Count > 1).ToDictionary(p => p.Key, p => (IReadOnlyList<int>)p.Value, StringComparer.Ordinal);
    }

    public void ThrowOnDuplicates()
    {
        foreach (var (key, at) in Duplicates())
        {
            throw new LinuxImageException(DiagnosticCatalog.WaagentConfDuplicateKey, Path, Path, key, string.Join(", ", at));
        }
    }

    /// <summary>The value the agent would use (the last assignment wins in the agent).</summary>
    public string? Get(string key)
    {
        string? value = null;
        foreach (string line in lines)
        {
            if (TryParseLine(line, out string k, out string v) && k == key)
            {
                value = v;
            }
        }
        return value;
    }

    /// <summary>Sets a key, keeping a trailing comment; a missing key goes after its commented-out sample, or at the end.</summary>
    public bool Set(string key, string value)
    {
        ThrowOnDuplicates();
        for (int i = 0; i < lines.Count; i++)
        {
            if (!TryParseLine(lines[i], out string k, out string current) || k != key)
            {
                continue;
            }
            if (current == value)
            {
                return false;
            }
            int hash = lines[i].IndexOf('#', lines[i].IndexOf('=', StringComparison.Ordinal));
            string comment = hash >= 0 ? " " + lines[i][hash..] : string.Empty;
            string indent = lines[i][..(lines[i].Length - lines[i].TrimStart().Length)];
            lines[i] = indent + key + "=" + value + comment;
            return true;
        }
        int sample = lines.FindIndex(l => l.TrimStart().StartsWith('#') && l.TrimStart().TrimStart('#').TrimStart().StartsWith(key + "=", StringComparison.Ordinal));
        string newLine = key + "=" + value;
        if (sample >= 0)
        {
            lines.Insert(sample + 1, newLine);
        }
        else if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.Insert(lines.Count - 1, newLine);
        }
        else
        {
            lines.Add(newLine);
        }
        return true;
    }

    private static bool TryParseLine(string line, out string key, out string value)
    {
        key = value = string.Empty;
        string trimmed = line.Trim();
        if (trimmed.StartsWith('#') || !trimmed.Contains('=', StringComparison.Ordinal))
        {
            return false;
        }
        int eq = trimmed.IndexOf('=');
        key = trimmed[..eq].Trim();
        string rest = trimmed[(eq + 1)..];
        int hash = rest.IndexOf('#');
        value = (hash >= 0 ? rest[..hash] : rest).Trim().Trim('"', ' ').Trim();
        return key.Length > 0;
    }
}
