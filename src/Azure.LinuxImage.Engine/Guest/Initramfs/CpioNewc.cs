using System.Globalization;
using System.Text;

namespace Azure.LinuxImage.Engine.Guest.Initramfs;

/// <summary>One member of a cpio archive in the initramfs.</summary>
public sealed record CpioEntry(string Path, int Mode, int Uid, int Gid, long MTime, byte[] Data)
{
    public const int TypeMask = 0xF000; // S_IFMT (octal 0170000)
    public const int RegularType = 0x8000;
    public const int DirectoryType = 0x4000;
    public const int SymlinkType = 0xA000;

    public bool IsRegular => (Mode & TypeMask) == RegularType;

    public bool IsDirectory => (Mode & TypeMask) == DirectoryType;

    public bool IsSymlink => (Mode & TypeMask) == SymlinkType;

    public string? LinkTarget => IsSymlink ? Encoding.UTF8.GetString(Data) : null;

    /// <summary>The path as the kernel extracts it, without a leading "./" or "/".</summary>
    public string NormalPath => Path.StartsWith("./", StringComparison.Ordinal) ? Path[2..] : Path.TrimStart('/');
}

/// <summary>
/// The "new ASCII" cpio format (070701, and 070702 with checksums) that the kernel's initramfs
/// unpacker and its early microcode loader read: 110-byte hex header, name, data, each padded to 4.
/// </summary>
public static class CpioNewc
{
    public const int HeaderSize = 110;
    public const string Trailer = "TRAILER!!!";

    public static bool StartsWithMagic(ReadOnlySpan<byte> data) =>
        data.Length >= 6 && data[..5].SequenceEqual("07070"u8) && (data[5] == (byte)'1' || data[5] == (byte)'2');

    /// <summary>
    /// Reads one archive (up to and including its trailer) from the start of <paramref name="data"/>.
    /// Returns the bytes consumed, padding after the trailer excluded.
    /// </summary>
    public static int ReadArchive(ReadOnlySpan<byte> data, List<CpioEntry> entries, Func<string, bool>? keepData = null) =>
        ReadArchive(data, entries, keepData, out _);

    /// <summary>As above; <paramref name="trailerOffset"/> is where the trailer member's header starts.</summary>
    public static int ReadArchive(ReadOnlySpan<byte> data, List<CpioEntry> entries, Func<string, bool>? keepData, out int trailerOffset)
    {
        int offset = 0;
        while (true)
        {
            if (data.Length - offset < HeaderSize)
            {
                throw new InvalidDataException($"cpio archive ends without a trailer at offset {offset}");
            }
            var header = data.Slice(offset, HeaderSize);
            if (!StartsWithMagic(header))
            {
                throw new InvalidDataException($"bad cpio magic at offset {offset}");
            }
            int mode = (int)Hex(header, 14);
            int uid = (int)Hex(header, 22);
            int gid = (int)Hex(header, 30);
            long mtime = Hex(header, 46);
            long fileSize = Hex(header, 54);
            int nameSize = (int)Hex(header, 94);
            if (nameSize <= 0 || nameSize > 4096)
            {
                throw new InvalidDataException($"bad cpio name size {nameSize} at offset {offset}");
            }
            int nameStart = offset + HeaderSize;
            if (nameStart + nameSize > data.Length)
            {
                throw new InvalidDataException("cpio name runs past the end");
            }
            string name = Encoding.UTF8.GetString(data.Slice(nameStart, nameSize - 1));
            int dataStart = Align4(nameStart + nameSize);
            if (dataStart + fileSize > data.Length)
            {
                throw new InvalidDataException($"cpio member '{name}' runs past the end");
            }
            int next = Align4(dataStart + (int)fileSize);
            if (name == Trailer)
            {
                trailerOffset = offset;
                return Math.Min(next, data.Length);
            }
            bool keep = (mode & CpioEntry.TypeMask) == CpioEntry.SymlinkType || keepData is null || keepData(name);
            entries.Add(new CpioEntry(name, mode, uid, gid, mtime, keep ? data.Slice(dataStart, (int)fileSize).ToArray() : []));
            offset = next;
        }
    }

    private static long Hex(ReadOnlySpan<byte> header, int at)
    {
        var field = header.Slice(at, 8);
        Span<char> chars = stackalloc char[8];
        for (int i = 0; i < 8; i++)
        {
            chars[i] = (char)field[i];
        }
        if (!long.TryParse(chars, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long value))
        {
            throw new InvalidDataException("cpio header field is not hexadecimal");
        }
        return value;
    }

    private static int Align4(int value) => (value + 3) & ~3;

    /// <summary>Writes a newc archive with its trailer; inode numbers are unique within it, as the kernel's hard-link logic expects.</summary>
    public static byte[] Write(IEnumerable<CpioEntry> entries, int firstInode = 1)
    {
        using var stream = new MemoryStream();
        int inode = firstInode;
        foreach (var entry in entries)
        {
            WriteMember(stream, entry, inode++);
        }
        WriteMember(stream, new CpioEntry(Trailer, 0, 0, 0, 0, []), 0);
        return stream.ToArray();
    }

    private static void WriteMember(MemoryStream stream, CpioEntry entry, int inode)
    {
        byte[] name = Encoding.UTF8.GetBytes(entry.Path + "\0");
        int nlink = entry.IsDirectory ? 2 : 1;
        string header = string.Create(CultureInfo.InvariantCulture,
            $"070701{inode:X8}{entry.Mode:X8}{entry.Uid:X8}{entry.Gid:X8}{(entry.Path == Trailer ? 1 : nlink):X8}{entry.MTime:X8}{entry.Data.Length:X8}{0:X8}{0:X8}{0:X8}{0:X8}{name.Length:X8}{0:X8}");
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(name);
        Pad(stream);
        stream.Write(entry.Data);
        Pad(stream);
    }

    private static void Pad(MemoryStream stream)
    {
        while (stream.Length % 4 != 0)
        {
            stream.WriteByte(0);
        }
    }
}
