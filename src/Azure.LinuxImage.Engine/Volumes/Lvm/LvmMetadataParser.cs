using System.Globalization;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Volumes.Lvm;

/// <summary>
/// The LVM2 text metadata format: <c>name { key = value ... }</c> sections, values that are
/// integers, quoted strings or [lists], and # comments. Parsed into nested dictionaries.
/// </summary>
public static class LvmMetadataParser
{
    private const int MaxDepth = 32;

    public static Dictionary<string, object> Parse(string text, string source)
    {
        int pos = 0;
        var root = ParseSection(text, ref pos, source, 0, topLevel: true);
        return root;
    }

    private static Dictionary<string, object> ParseSection(string text, ref int pos, string source, int depth, bool topLevel)
    {
        if (depth > MaxDepth)
        {
            throw Invalid(source, "sections nest too deeply");
        }
        var result = new Dictionary<string, object>(StringComparer.Ordinal);
        while (true)
        {
            SkipSpace(text, ref pos);
            if (pos >= text.Length)
            {
                if (!topLevel)
                {
                    throw Invalid(source, "a section is not closed");
                }
                return result;
            }
            if (text[pos] == '}')
            {
                if (topLevel)
                {
                    throw Invalid(source, "an unexpected '}'");
                }
                pos++;
                return result;
            }
            string key = ReadIdentifier(text, ref pos, source);
            SkipSpace(text, ref pos);
            if (pos < text.Length && text[pos] == '{')
            {
                pos++;
                result[key] = ParseSection(text, ref pos, source, depth + 1, topLevel: false);
            }
            else if (pos < text.Length && text[pos] == '=')
            {
                pos++;
                SkipSpace(text, ref pos);
                result[key] = ParseValue(text, ref pos, source);
            }
            else
            {
                throw Invalid(source, $"expected '=' or '{{' after '{key}'");
            }
        }
    }

    private static object ParseValue(string text, ref int pos, string source)
    {
        if (pos >= text.Length)
        {
            throw Invalid(source, "a value is missing");
        }
        if (text[pos] == '[')
        {
            pos++;
            var list = new List<object>();
            while (true)
            {
                SkipSpace(text, ref pos);
                if (pos >= text.Length)
                {
                    throw Invalid(source, "a list is not closed");
                }
                if (text[pos] == ']')
                {
                    pos++;
                    return list;
                }
                if (text[pos] == ',')
                {
                    pos++;
                    continue;
                }
                list.Add(ParseScalar(text, ref pos, source));
            }
        }
        return ParseScalar(text, ref pos, source);
    }

    private static object ParseScalar(string text, ref int pos, string source)
    {
        if (text[pos] == '"')
        {
            var sb = new StringBuilder();
            pos++;
            while (pos < text.Length && text[pos] != '"')
            {
                if (text[pos] == '\\' && pos + 1 < text.Length)
                {
                    pos++;
                }
                sb.Append(text[pos++]);
            }
            if (pos >= text.Length)
            {
                throw Invalid(source, "a string is not closed");
            }
            pos++;
            return sb.ToString();
        }
        int start = pos;
        while (pos < text.Length && (char.IsAsciiDigit(text[pos]) || text[pos] is '-' or '.'))
        {
            pos++;
        }
        string number = text[start..pos];
        if (long.TryParse(number, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l))
        {
            return l;
        }
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
        {
            return d;
        }
        throw Invalid(source, $"an unreadable value at offset {start}");
    }

    private static string ReadIdentifier(string text, ref int pos, string source)
    {
        int start = pos;
        while (pos < text.Length && (char.IsAsciiLetterOrDigit(text[pos]) || text[pos] is '_' or '-' or '.' or '+'))
        {
            pos++;
        }
        if (pos == start)
        {
            throw Invalid(source, $"an unexpected character '{text[pos]}' at offset {pos}");
        }
        return text[start..pos];
    }

    private static void SkipSpace(string text, ref int pos)
    {
        while (pos < text.Length)
        {
            if (char.IsWhiteSpace(text[pos]) || text[pos] == '\0')
            {
                pos++;
            }
            else if (text[pos] == '#')
            {
                while (pos < text.Length && text[pos] != '\n')
                {
                    pos++;
                }
            }
            else
            {
                return;
            }
        }
    }

    private static LinuxImageException Invalid(string source, string what) => new(DiagnosticCatalog.LvmMetadataInvalid, source, source, what);
}
