using System.Text.RegularExpressions;

namespace Azure.LinuxImage.Publishing;

/// <summary>
/// Removes credentials from any text the publisher produces. Known secrets (the SAS, the connection
/// string and its key) are replaced wherever they occur; the patterns catch secrets we were not told
/// about, such as a SAS pasted into the blob URI or one echoed back inside a service error.
/// </summary>
public sealed partial class SecretRedactor
{
    public const string Mask = "***";

    private readonly List<string> secrets = [];

    public SecretRedactor(params string?[] knownSecrets)
    {
        foreach (string? secret in knownSecrets)
        {
            Add(secret);
        }
    }

    public void Add(string? secret)
    {
        // Very short values would mask ordinary words; a real key or signature is never that short.
        if (string.IsNullOrWhiteSpace(secret) || secret.Trim().Length < 8)
        {
            return;
        }
        string trimmed = secret.Trim();
        secrets.Add(trimmed);
        if (trimmed.StartsWith('?'))
        {
            secrets.Add(trimmed[1..]);
        }
        // The SDK and HTTP stacks echo values URL-encoded as often as raw.
        string escaped = Uri.EscapeDataString(trimmed);
        if (escaped != trimmed)
        {
            secrets.Add(escaped);
        }
        foreach (Match m in AccountKeyPattern().Matches(trimmed))
        {
            Add(m.Groups["value"].Value);
        }
        // A secret can contain the shorter ones (a connection string holds its key): longest first.
        secrets.Sort((a, b) => b.Length.CompareTo(a.Length));
    }

    public string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? string.Empty;
        }
        foreach (string secret in secrets)
        {
            text = text.Replace(secret, Mask, StringComparison.Ordinal);
        }
        text = AccountKeyPattern().Replace(text, m => m.Groups["name"].Value + "=" + Mask);
        text = SignaturePattern().Replace(text, m => m.Groups["name"].Value + "=" + Mask);
        return text;
    }

    /// <summary>A URI for messages: scheme, host and path only, since the query is where a SAS lives.</summary>
    public static string DescribeUri(Uri uri) =>
        uri.IsAbsoluteUri ? uri.GetLeftPart(UriPartial.Path) : uri.OriginalString.Split('?')[0];

    [GeneratedRegex(@"(?<name>AccountKey|SharedAccessSignature|SharedAccessKey)\s*=\s*(?<value>[^;""'\s]+)", RegexOptions.IgnoreCase)]
    private static partial Regex AccountKeyPattern();

    // "sig" is the SAS signature; the delegation key ("skoid"...) is not secret alone but "sig" always is.
    [GeneratedRegex(@"(?<name>\bsig)=(?<value>[^&""'\s;]+)", RegexOptions.IgnoreCase)]
    private static partial Regex SignaturePattern();
}
