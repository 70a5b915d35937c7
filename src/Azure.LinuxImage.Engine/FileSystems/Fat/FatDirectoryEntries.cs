using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.FileSystems.Fat;

/// <summary>One name in a FAT directory: its 8.3 entry and the long-name entries before it.</summary>
internal readonly record struct FatEntry(
    string Name,
    string ShortName,
    int Index,
    int FirstSlot,
    byte Attributes,
    uint FirstCluster,
    uint Size)
{
    public bool IsDirectory => (Attributes & FatDirectoryEntries.AttrDirectory) != 0;

    public int SlotCount => Index - FirstSlot + 1;
}

/// <summary>
/// The 32-byte directory entry format: 8.3 names (with the NT lower-case flags Windows and Linux
/// honour), VFAT long names in UTF-16 with their checksum, and the choice of a unique short alias.
/// </summary>
internal static class FatDirectoryEntries
{
    public const int EntrySize = 32;
    public const byte AttrReadOnly = 0x01;
    public const byte AttrHidden = 0x02;
    public const byte AttrSystem = 0x04;
    public const byte AttrVolumeId = 0x08;
    public const byte AttrDirectory = 0x10;
    public const byte AttrArchive = 0x20;
    public const byte AttrLongName = 0x0F;
    public const byte Deleted = 0xE5;
    public const int MaxNameLength = 255;

    private static readonly int[] LfnCharOffsets = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];

    /// <summary>
    /// Every live name in a directory's bytes, "." and ".." included (callers skip them). Long-name
    /// runs whose order or checksum do not fit their 8.3 entry are ignored, as the kernel does.
    /// </summary>
    public static List<FatEntry> Parse(ReadOnlySpan<byte> dir)
    {
        var result = new List<FatEntry>();
        var lfn = new char[260];
        int lfnStart = -1;
        int lfnExpect = 0;
        byte lfnChecksum = 0;
        int count = dir.Length / EntrySize;
        for (int i = 0; i < count; i++)
        {
            var e = dir.Slice(i * EntrySize, EntrySize);
            if (e[0] == 0)
            {
                break;
            }
            if (e[0] == Deleted)
            {
                lfnStart = -1;
                continue;
            }
            byte attr = e[11];
            if ((attr & 0x3F) == AttrLongName)
            {
                int order = e[0] & 0x1F;
                if ((e[0] & 0x40) != 0 && order is >= 1 and <= 20)
                {
                    lfnStart = i;
                    lfnExpect = order;
                    lfnChecksum = e[13];
                    Array.Fill(lfn, '\uffff');
                }
                else if (lfnStart < 0 || order < 1 || order != lfnExpect || e[13] != lfnChecksum)
                {
                    lfnStart = -1;
                    continue;
                }
                int at = (order - 1) * 13;
                for (int k = 0; k < 13; k++)
                {
                    lfn[at + k] = (char)BinaryPrimitives.ReadUInt16LittleEndian(e[LfnCharOffsets[k]..]);
                }
                lfnExpect = order - 1;
                continue;
            }
            if ((attr & AttrVolumeId) != 0)
            {
                lfnStart = -1;
                continue;
            }
            string shortName = ShortNameOf(e);
            string name = shortName;
            int first = i;
            if (lfnStart >= 0 && lfnExpect == 0 && Checksum(e[..11]) == lfnChecksum)
            {
                int len = 0;
                while (len < lfn.Length && lfn[len] != '\0' && lfn[len] != '\uffff')
                {
                    len++;
                }
                if (len > 0)
                {
                    name = new string(lfn, 0, len);
                    first = lfnStart;
                }
            }
            lfnStart = -1;
            uint cluster = BinaryPrimitives.ReadUInt16LittleEndian(e[26..]) | ((uint)BinaryPrimitives.ReadUInt16LittleEndian(e[20..]) << 16);
            result.Add(new FatEntry(name, shortName, i, first, attr, cluster, BinaryPrimitives.ReadUInt32LittleEndian(e[28..])));
        }
        return result;
    }

    /// <summary>The 8.3 name as the kernel shows it: the NT flags make base or extension lower case.</summary>
    public static string ShortNameOf(ReadOnlySpan<byte> e)
    {
        byte flags = e[12];
        Span<byte> raw = stackalloc byte[11];
        e[..11].CopyTo(raw);
        if (raw[0] == 0x05)
        {
            raw[0] = 0xE5;
        }
        string b = Latin(raw[..8]).TrimEnd(' ');
        string x = Latin(raw[8..11]).TrimEnd(' ');
        if ((flags & 0x08) != 0)
        {
            b = b.ToLowerInvariant();
        }
        if ((flags & 0x10) != 0)
        {
            x = x.ToLowerInvariant();
        }
        return x.Length == 0 ? b : b + "." + x;
    }

    private static string Latin(ReadOnlySpan<byte> s) => Encoding.Latin1.GetString(s);

    public static byte Checksum(ReadOnlySpan<byte> shortName)
    {
        byte sum = 0;
        for (int i = 0; i < 11; i++)
        {
            sum = (byte)((((sum & 1) << 7) | (sum >> 1)) + shortName[i]);
        }
        return sum;
    }

    /// <summary>Null when FAT can hold <paramref name="name"/>; otherwise why not.</summary>
    public static string? NameProblem(string name)
    {
        if (name.Length == 0 || name is "." or "..")
        {
            return "an empty name or a dot name";
        }
        if (name.Length > MaxNameLength)
        {
            return $"a name of {name.Length} characters (at most {MaxNameLength})";
        }
        foreach (char c in name)
        {
            if (c < 0x20 || "\"*/:<>?\\|".Contains(c, StringComparison.Ordinal))
            {
                return $"the character '{(c < 0x20 ? $"\\x{(int)c:X2}" : c.ToString())}' is not allowed in FAT names";
            }
        }
        if (name.TrimEnd(' ', '.').Length == 0)
        {
            return "a name of only dots and spaces";
        }
        return null;
    }

    /// <summary>True when <paramref name="name"/> is itself a valid upper-case 8.3 name (no long-name entries needed).</summary>
    public static bool IsPlainShortName(string name, out byte[] shortName)
    {
        shortName = new byte[11];
        Array.Fill(shortName, (byte)' ');
        int dot = name.LastIndexOf('.');
        string b = dot < 0 ? name : name[..dot];
        string x = dot < 0 ? string.Empty : name[(dot + 1)..];
        if (b.Length is 0 or > 8 || x.Length > 3 || (dot >= 0 && x.Length == 0) || b.Contains('.', StringComparison.Ordinal))
        {
            return false;
        }
        foreach (char c in b + x)
        {
            if (!IsShortChar(c) || char.IsAsciiLetterLower(c))
            {
                return false;
            }
        }
        Encoding.ASCII.GetBytes(b, shortName.AsSpan(0, 8));
        Encoding.ASCII.GetBytes(x, shortName.AsSpan(8, 3));
        return true;
    }

    private static bool IsShortChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'()-@^_`{}~".Contains(c, StringComparison.Ordinal);

    /// <summary>A short alias for a long name, unique among <paramref name="taken"/> (upper-case 8.3 names), as Windows makes them (BASE~N.EXT).</summary>
    public static byte[] MakeAlias(string name, ISet<string> taken)
    {
        string trimmed = name.TrimStart('.', ' ');
        int dot = trimmed.LastIndexOf('.');
        string b = Clean(dot <= 0 ? trimmed : trimmed[..dot]);
        string x = Clean(dot <= 0 ? string.Empty : trimmed[(dot + 1)..]);
        if (x.Length > 3)
        {
            x = x[..3];
        }
        if (b.Length == 0)
        {
            b = "_";
        }
        for (int n = 1; n < 1_000_000; n++)
        {
            string tail = "~" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
            string candidate = (b.Length + tail.Length > 8 ? b[..(8 - tail.Length)] : b) + tail;
            string full = x.Length == 0 ? candidate : candidate + "." + x;
            if (!taken.Contains(full))
            {
                var bytes = new byte[11];
                Array.Fill(bytes, (byte)' ');
                Encoding.ASCII.GetBytes(candidate, bytes.AsSpan(0, 8));
                Encoding.ASCII.GetBytes(x, bytes.AsSpan(8, 3));
                return bytes;
            }
        }
        throw new InvalidOperationException("A directory cannot hold a million aliases of one name.");
    }

    private static string Clean(string s)
    {
        var sb = new StringBuilder();
        foreach (char c in s)
        {
            if (c is ' ' or '.')
            {
                continue;
            }
            char u = char.ToUpperInvariant(c);
            sb.Append(u < 0x80 && IsShortChar(u) ? u : '_');
        }
        return sb.ToString();
    }

    /// <summary>The long-name entries for <paramref name="name"/>, last part first (as they are stored).</summary>
    public static byte[][] LongNameEntries(string name, ReadOnlySpan<byte> shortName)
    {
        int parts = (name.Length + 12) / 13;
        byte sum = Checksum(shortName);
        var result = new byte[parts][];
        for (int p = parts; p >= 1; p--)
        {
            var e = new byte[EntrySize];
            e[0] = (byte)(p | (p == parts ? 0x40 : 0));
            e[11] = AttrLongName;
            e[13] = sum;
            for (int k = 0; k < 13; k++)
            {
                int at = ((p - 1) * 13) + k;
                ushort ch = at < name.Length ? name[at] : at == name.Length ? (ushort)0 : (ushort)0xFFFF;
                BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(LfnCharOffsets[k]), ch);
            }
            result[parts - p] = e;
        }
        return result;
    }

    /// <summary>FAT's local date and time (we write UTC, as a guest with the default tz does).</summary>
    public static (ushort Date, ushort Time) DosTime(DateTimeOffset t)
    {
        var u = t.UtcDateTime;
        if (u.Year < 1980)
        {
            return (0x21, 0);
        }
        int year = Math.Min(u.Year, 2107);
        return ((ushort)(((year - 1980) << 9) | (u.Month << 5) | u.Day), (ushort)((u.Hour << 11) | (u.Minute << 5) | (u.Second / 2)));
    }
}
