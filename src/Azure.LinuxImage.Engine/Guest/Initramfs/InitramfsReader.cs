using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Azure.LinuxImage.Engine.Guest.Initramfs;

public enum InitramfsCompression
{
    None,
    Gzip,
    Xz,
    Zstd,
    Lz4Legacy,
    Bzip2,
}

public sealed record InitramfsSegment(long Offset, long Length, InitramfsCompression Compression, int EntryCount)
{
    /// <summary>Where, in the segment's cpio bytes (decompressed when it is compressed), the last archive's trailer member starts.</summary>
    internal long LastTrailerOffset { get; init; }

    /// <summary>Where a gzip segment's deflate stream can be cut before that trailer, found while listing it (null: not known, scan again).</summary>
    internal DeflateCut? DeflateCut { get; init; }

    /// <summary>Where a zstd segment's last frame can be cut before that trailer, found while listing it.</summary>
    internal ZstdCut? ZstdCut { get; init; }
}

/// <summary>
/// An initramfs as the kernel unpacks it: the concatenation of every segment, later members
/// replacing earlier ones of the same name.
/// </summary>
public sealed class InitramfsImage
{
    private readonly Dictionary<string, CpioEntry> byPath = new(StringComparer.Ordinal);

    internal InitramfsImage(IReadOnlyList<InitramfsSegment> segments, IReadOnlyList<CpioEntry> entries)
    {
        Segments = segments;
        Entries = entries;
        foreach (var entry in entries)
        {
            byPath[entry.NormalPath] = entry;
        }
    }

    public IReadOnlyList<InitramfsSegment> Segments { get; }

    /// <summary>Every member in archive order (what cpio -t lists, segment after segment).</summary>
    public IReadOnlyList<CpioEntry> Entries { get; }

    public IEnumerable<string> Paths => byPath.Keys;

    public CpioEntry? Find(string path) => byPath.TryGetValue(path.TrimStart('/'), out var entry) ? entry : null;

    /// <summary>Module names present (file name without .ko and compression suffix, '-' as '_', as the kernel names them).</summary>
    public ISet<string> ModuleNames() => new HashSet<string>(
        byPath.Values.Where(e => e.IsRegular).Select(e => KernelModules.ModuleNameOf(e.NormalPath)).OfType<string>(), StringComparer.Ordinal);
}

/// <summary>
/// Reads the segments of an initramfs: uncompressed newc archives (early microcode, firmware) and
/// compressed ones (gzip, xz, zstd, the kernel's legacy lz4 frame, bzip2), separated by zero padding.
/// Each compressed segment's exact end is found, so archives appended after it are read too.
/// </summary>
public static class InitramfsReader
{
    private const uint Lz4LegacyMagic = 0x184C2102;
    private const int Lz4LegacyChunk = 8 << 20;

    public static InitramfsImage Read(byte[] data, Func<string, bool>? keepData = null)
    {
        var segments = new List<InitramfsSegment>();
        var entries = new List<CpioEntry>();
        int offset = 0;
        while (offset < data.Length)
        {
            if (data[offset] == 0)
            {
                offset++;
                continue;
            }
            var rest = data.AsSpan(offset);
            var compression = Identify(rest);
            int before = entries.Count;
            int length;
            long trailer;
            object? cut = null;
            if (compression == InitramfsCompression.None)
            {
                if (!CpioNewc.StartsWithMagic(rest))
                {
                    throw new InvalidDataException($"unknown data at offset {offset} (neither cpio nor a compression the kernel supports here: {Hex(rest)})");
                }
                length = CpioNewc.ReadArchive(rest, entries, keepData, out int archiveTrailer);
                trailer = archiveTrailer;
            }
            else
            {
                // The archive is parsed as it is decompressed: the expanded initramfs is never held whole.
                (length, trailer, cut) = ReadCompressed(compression, data, offset, entries, keepData);
            }
            segments.Add(new InitramfsSegment(offset, length, compression, entries.Count - before)
            {
                LastTrailerOffset = trailer,
                DeflateCut = cut as DeflateCut,
                ZstdCut = cut as ZstdCut,
            });
            offset += length;
        }
        if (segments.Count == 0)
        {
            throw new InvalidDataException("the file is empty");
        }
        return new InitramfsImage(segments, entries);
    }

    /// <summary>A compressed segment's archives (several may follow each other), read from the decompressing stream.</summary>
    private static long ReadArchives(Stream plain, List<CpioEntry> entries, Func<string, bool>? keepData)
    {
        var reader = new CpioStreamReader(plain);
        long trailer = 0;
        while (reader.SkipZeros())
        {
            trailer = CpioNewc.ReadArchive(reader, entries, keepData);
        }
        return trailer;
    }

    /// <summary>
    /// The segment's compressed length, where in its output the last archive's trailer starts, and
    /// (gzip, zstd) where its stream can be cut before that trailer, found in the same pass.
    /// </summary>
    private static (int Length, long Trailer, object? Cut) ReadCompressed(InitramfsCompression compression, byte[] data, int offset, List<CpioEntry> entries, Func<string, bool>? keepData)
    {
        switch (compression)
        {
            case InitramfsCompression.Gzip:
            {
                int p = GzipHeaderLength(data, offset);
                using (var blocks = ZlibBlockStream.TryOpen(data, p, data.Length))
                {
                    if (blocks is not null)
                    {
                        long found = ReadArchives(blocks, entries, keepData);
                        blocks.CopyTo(Stream.Null);
                        int end = blocks.EndByte;
                        if (end + 8 > data.Length
                            || BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(end)) != blocks.Crc
                            || BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(end + 4)) != (uint)blocks.Plain)
                        {
                            throw new InvalidDataException("gzip member's trailer does not match its data (truncated?)");
                        }
                        return (end + 8 - offset, found, blocks.CutBefore(found, InitramfsAppender.MaxTail));
                    }
                }
                using var inflate = new DeflateStream(new MemoryStream(data, p, data.Length - p, writable: false), CompressionMode.Decompress);
                var hashed = new Crc32Stream(inflate);
                long trailer = ReadArchives(hashed, entries, keepData);
                hashed.CopyTo(Stream.Null);
                // Deflate does not say where it stopped; the member's trailer (CRC-32 and size of the
                // output) marks the end, and 8 bytes of it are vanishingly unlikely to occur earlier.
                Span<byte> mark = stackalloc byte[8];
                BinaryPrimitives.WriteUInt32LittleEndian(mark, hashed.Crc);
                BinaryPrimitives.WriteUInt32LittleEndian(mark[4..], (uint)hashed.Length);
                int at = data.AsSpan(p).IndexOf(mark);
                if (at < 0)
                {
                    throw new InvalidDataException("gzip member has no matching trailer (truncated?)");
                }
                return (p + at + 8 - offset, trailer, null);
            }
            case InitramfsCompression.Zstd:
            {
                int end = ZstdSegmentEnd(data, offset);
                using var stream = new ZstdSegmentStream(data, offset, end);
                long trailer = ReadArchives(stream, entries, keepData);
                stream.CopyTo(Stream.Null);
                return (end - offset, trailer, stream.CutBefore(trailer));
            }
            default:
            {
                using var stream = OpenSegment(compression, data, offset, out int length);
                return (length, ReadArchives(stream, entries, keepData), null);
            }
        }
    }

    /// <summary>The decompressed bytes of a segment, for the rare paths that recompress it whole.</summary>
    internal static byte[] DecompressSegment(byte[] data, InitramfsSegment segment)
    {
        if (segment.Compression == InitramfsCompression.None)
        {
            return data.AsSpan((int)segment.Offset, (int)segment.Length).ToArray();
        }
        Stream stream = segment.Compression switch
        {
            InitramfsCompression.Gzip => new GZipStream(new MemoryStream(data, (int)segment.Offset, (int)segment.Length, writable: false), CompressionMode.Decompress),
            InitramfsCompression.Zstd => new ZstdSharp.DecompressionStream(new MemoryStream(data, (int)segment.Offset, (int)segment.Length, writable: false)),
            _ => OpenSegment(segment.Compression, data, (int)segment.Offset, out _),
        };
        using (stream)
        {
            using var output = new MemoryStream();
            stream.CopyTo(output);
            return output.ToArray();
        }
    }

    private static Stream OpenSegment(InitramfsCompression compression, byte[] data, int offset, out int length)
    {
        switch (compression)
        {
            case InitramfsCompression.Xz:
            {
                // Stream padding (multiples of four zero bytes) belongs to the xz stream.
                int end = XzStreamEnd(data, offset);
                length = end - offset;
                return new SharpCompress.Compressors.Xz.XZStream(new MemoryStream(data, offset, length, writable: false));
            }
            case InitramfsCompression.Bzip2:
            {
                int end = Bzip2StreamEnd(data, offset);
                length = end - offset;
                return SharpCompress.Compressors.BZip2.BZip2Stream.Create(new MemoryStream(data, offset, length, writable: false), SharpCompress.Compressors.CompressionMode.Decompress, false);
            }
            case InitramfsCompression.Lz4Legacy:
            {
                length = Lz4LegacyEnd(data, offset);
                return new Lz4LegacyStream(data, offset, offset + length);
            }
            default:
                throw new InvalidOperationException();
        }
    }

    private static string Hex(ReadOnlySpan<byte> data) => Convert.ToHexString(data[..Math.Min(8, data.Length)]);

    public static InitramfsCompression Identify(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 2 && data[0] == 0x1F && (data[1] == 0x8B || data[1] == 0x9E))
        {
            return InitramfsCompression.Gzip;
        }
        if (data.StartsWith(new byte[] { 0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00 }))
        {
            return InitramfsCompression.Xz;
        }
        if (data.StartsWith(new byte[] { 0x28, 0xB5, 0x2F, 0xFD }))
        {
            return InitramfsCompression.Zstd;
        }
        if (data.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(data) == Lz4LegacyMagic)
        {
            return InitramfsCompression.Lz4Legacy;
        }
        if (data.StartsWith("BZh"u8))
        {
            return InitramfsCompression.Bzip2;
        }
        if (data.Length >= 3 && data[0] == 0x5D && data[1] == 0 && data[2] == 0)
        {
            throw new InvalidDataException("the segment is LZMA-compressed, which the SDK does not read");
        }
        if (data.StartsWith(new byte[] { 0x89, 0x4C, 0x5A, 0x4F }))
        {
            throw new InvalidDataException("the segment is LZO-compressed, which the SDK does not read");
        }
        return InitramfsCompression.None;
    }

    internal static int GzipHeaderLength(byte[] data, int offset)
    {
        if (offset + 10 > data.Length)
        {
            throw new InvalidDataException("gzip header truncated");
        }
        int p = offset + 10;
        byte flags = data[offset + 3];
        if ((flags & 0x04) != 0)
        {
            p = p + 2 <= data.Length ? p + 2 + BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(p)) : data.Length + 1;
        }
        for (int bit = 0x08; bit <= 0x10; bit <<= 1)
        {
            if ((flags & bit) != 0 && p < data.Length)
            {
                int zero = Array.IndexOf(data, (byte)0, p);
                p = zero < 0 ? data.Length + 1 : zero + 1;
            }
        }
        if ((flags & 0x02) != 0)
        {
            p += 2;
        }
        if (p > data.Length)
        {
            throw new InvalidDataException("gzip header truncated");
        }
        return p;
    }

    private static int ZstdSegmentEnd(byte[] data, int offset)
    {
        int end = offset;
        // Frames (and skippable frames) follow each other until something else starts.
        while (end + 4 <= data.Length)
        {
            uint magic = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(end));
            if (magic == 0xFD2FB528)
            {
                end = ZstdFrameEnd(data, end);
            }
            else if ((magic & 0xFFFFFFF0) == 0x184D2A50 && end + 8 <= data.Length)
            {
                long next = end + 8L + BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(end + 4));
                if (next > data.Length)
                {
                    throw new InvalidDataException("zstd skippable frame truncated");
                }
                end = (int)next;
            }
            else
            {
                break;
            }
        }
        return end;
    }

    /// <summary>
    /// A legacy lz4 frame has no end mark: it ends where the next word cannot be a chunk size
    /// (cpio's "0707" or zero padding read as a size), as the kernel's unlz4 decides.
    /// </summary>
    private static int Lz4LegacyEnd(byte[] data, int offset)
    {
        int p = offset;
        while (p + 4 <= data.Length)
        {
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(p));
            if (size == Lz4LegacyMagic)
            {
                p += 4;
                continue;
            }
            if (size == 0 || size > K4os.Compression.LZ4.LZ4Codec.MaximumOutputSize(Lz4LegacyChunk) || p + 4L + size > data.Length)
            {
                break;
            }
            p += 4 + (int)size;
        }
        return p - offset;
    }

    private sealed class Lz4LegacyStream(byte[] data, int start, int end) : ForwardReadStream
    {
        private readonly byte[] chunk = new byte[Lz4LegacyChunk];
        private int position = start;
        private int available;
        private int used;

        public override int Read(Span<byte> buffer)
        {
            while (used == available)
            {
                if (position + 4 > end)
                {
                    return 0;
                }
                uint size = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(position));
                position += 4;
                if (size == Lz4LegacyMagic)
                {
                    continue;
                }
                if (size > (uint)(end - position))
                {
                    throw new InvalidDataException($"lz4 chunk at offset {position - 4} runs past the archive's end");
                }
                int n = K4os.Compression.LZ4.LZ4Codec.Decode(data.AsSpan(position, (int)size), chunk);
                if (n < 0)
                {
                    throw new InvalidDataException($"lz4 chunk at offset {position - 4} is damaged");
                }
                position += (int)size;
                available = n;
                used = 0;
            }
            int copy = Math.Min(buffer.Length, available - used);
            chunk.AsSpan(used, copy).CopyTo(buffer);
            used += copy;
            return copy;
        }
    }

    /// <summary>Counts and hashes (CRC-32, as gzip's trailer) what is read through it.</summary>
    private sealed class Crc32Stream(Stream inner) : ForwardReadStream
    {
        private readonly Crc32 crc = new();

        public uint Crc => crc.GetCurrentHashAsUInt32();

        public override long Length => Position;
        public override long Position { get; set; }

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            crc.Append(buffer[..n]);
            Position += n;
            return n;
        }
    }

    private static int ZstdFrameEnd(byte[] data, int start)
    {
        int p = start + 4;
        byte descriptor = data[p++];
        int fcsFlag = descriptor >> 6;
        bool singleSegment = (descriptor & 0x20) != 0;
        bool checksum = (descriptor & 0x04) != 0;
        int dictIdSize = (descriptor & 3) switch { 0 => 0, 1 => 1, 2 => 2, _ => 4 };
        int fcsSize = fcsFlag switch { 0 => singleSegment ? 1 : 0, 1 => 2, 2 => 4, _ => 8 };
        p += (singleSegment ? 0 : 1) + dictIdSize + fcsSize;
        while (true)
        {
            if (p + 3 > data.Length)
            {
                throw new InvalidDataException("zstd frame truncated");
            }
            int header = data[p] | (data[p + 1] << 8) | (data[p + 2] << 16);
            bool last = (header & 1) != 0;
            int type = (header >> 1) & 3;
            int size = header >> 3;
            p += 3 + (type == 1 ? 1 : size);
            if (last)
            {
                break;
            }
        }
        return p + (checksum ? 4 : 0);
    }

    private static int XzStreamEnd(byte[] data, int start)
    {
        // The stream footer ends with "YZ", carries the header's flags and a CRC-32 over the
        // backward size and flags; search 4-aligned positions for one that checks out.
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(start + 6));
        for (int p = start + 12 + 12; p + 12 <= data.Length; p += 4)
        {
            if (data[p + 10] != (byte)'Y' || data[p + 11] != (byte)'Z' || BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(p + 8)) != flags)
            {
                continue;
            }
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(p));
            if (Crc32.HashToUInt32(data.AsSpan(p + 4, 6)) == crc)
            {
                return p + 12;
            }
        }
        throw new InvalidDataException("xz stream has no footer (truncated?)");
    }

    private static int Bzip2StreamEnd(byte[] data, int start)
    {
        // The end-of-stream marker (the bits of sqrt(pi), 0x177245385090) is not byte-aligned;
        // after it come a 32-bit CRC and padding to the next byte.
        const ulong eos = 0x177245385090UL;
        ulong window = 0;
        long bits = 0;
        for (int i = start + 4; i < data.Length; i++)
        {
            for (int b = 7; b >= 0; b--)
            {
                window = ((window << 1) | (uint)((data[i] >> b) & 1)) & 0xFFFFFFFFFFFFUL;
                bits++;
                if (bits >= 48 && window == eos)
                {
                    long bitEnd = ((long)(i - start) * 8) + (8 - b) + 32;
                    return start + (int)((bitEnd + 7) / 8);
                }
            }
        }
        throw new InvalidDataException("bzip2 stream has no end marker (truncated?)");
    }
}
