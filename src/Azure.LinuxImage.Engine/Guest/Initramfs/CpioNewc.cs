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
    public static unsafe int ReadArchive(ReadOnlySpan<byte> data, List<CpioEntry> entries, Func<string, bool>? keepData, out int trailerOffset)
    {
        fixed (byte* p = data)
        {
            using var stream = new UnmanagedMemoryStream(p, data.Length);
            var reader = new CpioStreamReader(stream);
            trailerOffset = (int)ReadArchive(reader, entries, keepData);
            return (int)reader.Position;
        }
    }

    /// <summary>
    /// Reads one archive from a stream, up to and including its trailer and the trailer's padding
    /// (as far as the stream has it). Member data is skipped unless <paramref name="keepData"/>
    /// wants it, so an archive of any size is read in constant memory. Returns the stream offset
    /// at which the trailer member's header starts.
    /// </summary>
    internal static long ReadArchive(CpioStreamReader reader, List<CpioEntry> entries, Func<string, bool>? keepData)
    {
        long start = reader.Position;
        long Pad(long at) => (4 - ((at - start) & 3)) & 3;
        while (true)
        {
            long offset = reader.Position - start;
            if (!reader.Ensure(HeaderSize))
            {
                throw new InvalidDataException($"cpio archive ends without a trailer at offset {offset}");
            }
            var header = reader.Peek(HeaderSize);
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
            reader.Advance(HeaderSize);
            if (!reader.Ensure(nameSize))
            {
                throw new InvalidDataException("cpio name runs past the end");
            }
            string name = Encoding.UTF8.GetString(reader.Peek(nameSize - 1));
            reader.Advance(nameSize);
            if (!reader.Skip(Pad(reader.Position)))
            {
                throw new InvalidDataException($"cpio member '{name}' runs past the end");
            }
            if (name == Trailer)
            {
                if (reader.Skip(fileSize))
                {
                    reader.Skip(Pad(reader.Position));
                }
                return start + offset;
            }
            bool keep = (mode & CpioEntry.TypeMask) == CpioEntry.SymlinkType || keepData is null || keepData(name);
            byte[] content = keep ? reader.ReadBytes(fileSize) : [];
            if ((keep && content.LongLength != fileSize) || (!keep && !reader.Skip(fileSize)) || !reader.Skip(Pad(reader.Position)))
            {
                throw new InvalidDataException($"cpio member '{name}' runs past the end");
            }
            entries.Add(new CpioEntry(name, mode, uid, gid, mtime, content));
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

/// <summary>Buffered forward reading of a (decompressing) stream, with the offset of what comes next.</summary>
internal sealed class CpioStreamReader(Stream stream)
{
    private readonly byte[] buffer = new byte[64 * 1024];
    private int start;
    private int end;

    /// <summary>The stream offset of the next unread byte.</summary>
    public long Position { get; private set; }

    /// <summary>Buffers at least <paramref name="count"/> bytes (at most the buffer's size); false when the stream ends first.</summary>
    public bool Ensure(int count)
    {
        if (end - start >= count)
        {
            return true;
        }
        if (start > 0)
        {
            Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
            end -= start;
            start = 0;
        }
        while (end < count)
        {
            int n = stream.Read(buffer, end, buffer.Length - end);
            if (n == 0)
            {
                return false;
            }
            end += n;
        }
        return true;
    }

    public ReadOnlySpan<byte> Peek(int count) => buffer.AsSpan(start, count);

    public void Advance(int count)
    {
        start += count;
        Position += count;
    }

    /// <summary>Skips <paramref name="count"/> bytes; false when the stream ends first.</summary>
    public bool Skip(long count)
    {
        while (count > 0)
        {
            if (start == end && !Ensure(1))
            {
                return false;
            }
            int n = (int)Math.Min(count, end - start);
            Advance(n);
            count -= n;
        }
        return true;
    }

    /// <summary>Up to <paramref name="count"/> bytes: fewer only when the stream ends. Memory grows with what is read, not with the count.</summary>
    public byte[] ReadBytes(long count)
    {
        using var output = new MemoryStream((int)Math.Min(count, 1 << 20));
        while (count > 0)
        {
            if (start == end && !Ensure(1))
            {
                break;
            }
            int n = (int)Math.Min(count, end - start);
            output.Write(buffer, start, n);
            Advance(n);
            count -= n;
        }
        return output.ToArray();
    }

    /// <summary>Skips zero padding; false when the stream ends.</summary>
    public bool SkipZeros()
    {
        while (true)
        {
            if (start == end && !Ensure(1))
            {
                return false;
            }
            int nonZero = buffer.AsSpan(start, end - start).IndexOfAnyExcept((byte)0);
            if (nonZero >= 0)
            {
                Advance(nonZero);
                return true;
            }
            Advance(end - start);
        }
    }
}
