using System.Text;

namespace Azure.LinuxImage.Engine.Guest.Distributions;

/// <summary>
/// os-release(5): newline-separated shell-compatible assignments. Values may be unquoted, in double
/// quotes (with \" \\ \$ \` escapes) or in single quotes.
/// </summary>
public sealed class OsRelease
{
    private readonly Dictionary<string, string> values;

    private OsRelease(Dictionary<string, string> values) => this.values = values;

    public string? this[string key] => values.TryGetValue(key, out string? v) ? v : null;

    public string Id => this["ID"] ?? "linux";

    public IReadOnlyList<string> IdLike => (this["ID_LIKE"] ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries);

    public string? VersionId => this["VERSION_ID"];

    public string PrettyName => this["PRETTY_NAME"] ?? this["NAME"] ?? Id;

    public static OsRelease Parse(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string rawLine in text.Split('\n'))
        {
            string line = rawLine.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            int eq = line.IndexOf('=');
            if (eq <= 0)
            {
                continue;
            }
            values[line[..eq].Trim()] = Unquote(line[(eq + 1)..].Trim());
        }
        return new OsRelease(values);
    }

    public static string Unquote(string value)
    {
        var result = new StringBuilder();
        char quote = '\0';
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (quote == '\0' && (c == '"' || c == '\''))
            {
                quote = c;
            }
            else if (c == quote)
            {
                quote = '\0';
            }
            else if (c == '\\' && quote != '\'' && i + 1 < value.Length)
            {
                result.Append(value[++i]);
            }
            else
            {
                result.Append(c);
            }
        }
        return result.ToString();
    }
}
