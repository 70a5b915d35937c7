namespace Azure.LinuxImage.Publishing;

/// <summary>
/// A SAS as the service expects it, whatever escaping it went through on the way: MSBuild turns
/// %XX sequences in property values into characters, so a SAS given as a property arrives with its
/// signature's '+', '/' and '=' bare, and a bare '+' in a query means a space to the service.
/// Unescaping then escaping each value gives the same token for both forms.
/// </summary>
public static class SasToken
{
    public static string Normalize(string sas)
    {
        string trimmed = sas.Trim().TrimStart('?');
        var parts = trimmed.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(part =>
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                return part;
            }
            string value = Uri.UnescapeDataString(part[(eq + 1)..]);
            return part[..eq] + "=" + Uri.EscapeDataString(value);
        });
        return string.Join('&', parts);
    }

    /// <summary>The signature's value, unescaped, or null; redaction masks it in every form.</summary>
    public static string? Signature(string sas)
    {
        foreach (string part in sas.Trim().TrimStart('?').Split('&'))
        {
            if (part.StartsWith("sig=", StringComparison.OrdinalIgnoreCase))
            {
                return Uri.UnescapeDataString(part[4..]);
            }
        }
        return null;
    }
}
