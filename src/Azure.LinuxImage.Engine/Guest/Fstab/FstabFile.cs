using System.Text.RegularExpressions;

namespace Azure.LinuxImage.Engine.Guest.Fstab;

/// <summary>One active (uncommented) line of fstab(5).</summary>
public sealed record FstabEntry(int Line, string Spec, string MountPoint, string Type, string Options)
{
    public bool IsSwap => Type == "swap";

    /// <summary>A device named by kernel enumeration order, which differs between SCSI and NVMe VM sizes.</summary>
    public bool UsesSdDeviceName => FstabFile.SdDeviceName().IsMatch(Spec);

    /// <summary>A swap file is a path on a mounted file system; anything else names a block device.</summary>
    public bool IsSwapPartition => IsSwap && !(Spec.StartsWith('/') && !Spec.StartsWith("/dev/", StringComparison.Ordinal));
}

public static partial class FstabFile
{
    public const string DefaultPath = "/etc/fstab";
    public const string DisabledMarker = "# Disabled by Azure.LinuxImage.Sdk (R14): the Azure agent puts swap on the resource disk.";

    public static IReadOnlyList<FstabEntry> Parse(string text)
    {
        var entries = new List<FstabEntry>();
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 3)
            {
                continue;
            }
            entries.Add(new FstabEntry(i + 1, Unescape(fields[0]), Unescape(fields[1]), fields[2], fields.Length > 3 ? fields[3] : "defaults"));
        }
        return entries;
    }

    /// <summary>fstab(5) writes a space in a path as \040 and a tab as \011 (getmntent decodes any three-digit octal escape).</summary>
    public static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }
        var text = new System.Text.StringBuilder(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                text.Append((char)(((field[i + 1] - '0') * 64) + ((field[i + 2] - '0') * 8) + (field[i + 3] - '0')));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }
        return text.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';

    /// <summary>Comments out every swap line, each under a note saying why; returns the new text and the lines disabled.</summary>
    public static (string Text, IReadOnlyList<FstabEntry> Disabled) DisableSwap(string text)
    {
        var swap = Parse(text).Where(e => e.IsSwap).ToList();
        if (swap.Count == 0)
        {
            return (text, swap);
        }
        var lines = text.Split('\n').ToList();
        foreach (var entry in swap.OrderByDescending(e => e.Line))
        {
            lines[entry.Line - 1] = "#" + lines[entry.Line - 1];
            lines.Insert(entry.Line - 1, DisabledMarker);
        }
        return (string.Join('\n', lines), swap);
    }

    [GeneratedRegex(@"^/dev/(sd[a-z]+|hd[a-z]+)\d*$")]
    internal static partial Regex SdDeviceName();
}
