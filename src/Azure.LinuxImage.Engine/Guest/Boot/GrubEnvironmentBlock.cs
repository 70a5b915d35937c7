using System.Text;

namespace Azure.LinuxImage.Engine.Guest.Boot;

/// <summary>
/// GRUB's grubenv: exactly 1024 bytes, a fixed header line, key=value lines, '#' padding. GRUB
/// refuses a block of any other size, so an edit that does not fit is an error, never a truncation.
/// </summary>
public static class GrubEnvironmentBlock
{
    public const int Size = 1024;
    public const string Header = "# GRUB Environment Block\n";

    public static Dictionary<string, string> Parse(byte[] block, string path)
    {
        Validate(block, path);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in Encoding.UTF8.GetString(block, Header.Length, block.Length - Header.Length).Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            int eq = line.IndexOf('=');
            if (eq > 0)
            {
                values[line[..eq]] = line[(eq + 1)..];
            }
        }
        return values;
    }

    public static void Validate(byte[] block, string path)
    {
        if (block.Length != Size)
        {
            throw new Diagnostics.LinuxImageException(Diagnostics.DiagnosticCatalog.GrubEnvMalformed, path, path, $"it is {block.Length} bytes, GRUB requires exactly {Size}");
        }
        if (!Encoding.ASCII.GetString(block, 0, Header.Length).Equals(Header, StringComparison.Ordinal))
        {
            throw new Diagnostics.LinuxImageException(Diagnostics.DiagnosticCatalog.GrubEnvMalformed, path, path, "it does not start with '# GRUB Environment Block'");
        }
    }

    /// <summary>Replaces one variable's value, keeping the other lines and their order.</summary>
    public static byte[] SetValue(byte[] block, string path, string key, string value)
    {
        Validate(block, path);
        string body = Encoding.UTF8.GetString(block, Header.Length, block.Length - Header.Length);
        var lines = new List<string>();
        foreach (string line in body.Split('\n'))
        {
            if (line.Length == 0 || line.TrimEnd('#').Length == 0)
            {
                continue;
            }
            lines.Add(line.StartsWith(key + "=", StringComparison.Ordinal) ? key + "=" + value : line);
        }
        var text = new StringBuilder(Header);
        foreach (string line in lines)
        {
            text.Append(line).Append('\n');
        }
        byte[] content = Encoding.UTF8.GetBytes(text.ToString());
        if (content.Length > Size)
        {
            throw new Diagnostics.LinuxImageException(Diagnostics.DiagnosticCatalog.GrubEnvMalformed, path, path,
                $"the new {key} makes the block {content.Length} bytes, more than GRUB's {Size}");
        }
        byte[] result = new byte[Size];
        content.CopyTo(result, 0);
        result.AsSpan(content.Length).Fill((byte)'#');
        return result;
    }
}
