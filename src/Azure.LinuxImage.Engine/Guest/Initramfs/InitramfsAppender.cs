using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Azure.LinuxImage.Engine.Guest.Initramfs;

/// <summary>
/// Adds members to the last archive of an initramfs without recompressing what is already there.
/// lsinitramfs, unmkinitramfs and lsinitrd decompress the last segment as one stream and list one
/// archive from it, so the new members must come before that archive's trailer and inside the same
/// compressed stream: the stream is cut at the start of the block that holds the trailer, and only
/// that block's output (up to the trailer), the members and a new trailer are compressed again and
/// appended (a second deflate run inside the same gzip member; a second zstd frame after the
/// first, shortened one). Everything before the cut is kept byte for byte.
/// </summary>
internal static class InitramfsAppender
{
    /// <summary>The most output re-encoded from the old stream; a block larger than this falls back to recompressing.</summary>
    internal const int MaxTail = 64 << 20;

    /// <param name="original">The whole initramfs file.</param>
    /// <param name="last">Its last segment.</param>
    /// <param name="archive">The new members followed by a trailer (a complete newc archive).</param>
    /// <returns>The new file, or null when this segment's format cannot be extended this way.</returns>
    public static byte[]? TryAppend(byte[] original, InitramfsSegment last, byte[] archive, out string placement)
    {
        placement = string.Empty;
        if (last.Offset + last.Length > original.Length || last.Offset > int.MaxValue)
        {
            return null;
        }
        switch (last.Compression)
        {
            case InitramfsCompression.None:
                placement = "added to its last archive";
                return Concat(original.AsSpan(0, checked((int)(last.Offset + last.LastTrailerOffset))), [], archive);
            case InitramfsCompression.Gzip:
                placement = "added to its gzip archive (only the last deflate block re-encoded)";
                return AppendGzip(original, last, archive);
            case InitramfsCompression.Zstd:
                placement = "added to its zstd archive (only the last zstd block re-encoded)";
                return AppendZstd(original, last, archive);
            default:
                return null;
        }
    }

    private static byte[] Concat(ReadOnlySpan<byte> head, ReadOnlySpan<byte> middle, ReadOnlySpan<byte> tail)
    {
        var result = new byte[head.Length + middle.Length + tail.Length];
        head.CopyTo(result);
        middle.CopyTo(result.AsSpan(head.Length));
        tail.CopyTo(result.AsSpan(head.Length + middle.Length));
        return result;
    }

    private static byte[] Plain(byte[] tail, byte[] archive)
    {
        // The kernel's unpacker wants each archive 4-aligned; the plain stream ends padded too.
        int length = (tail.Length + archive.Length + 3) & ~3;
        var plain = new byte[length];
        tail.CopyTo(plain, 0);
        archive.CopyTo(plain, tail.Length);
        return plain;
    }

    private static byte[]? AppendGzip(byte[] original, InitramfsSegment last, byte[] archive)
    {
        int start = (int)last.Offset;
        int end = start + (int)last.Length;
        int deflateStart = InitramfsReader.GzipHeaderLength(original, start);
        // The listing pass found the cut when the system's zlib decoded it; otherwise scan again.
        var cut = last.DeflateCut ?? Diagnostics.StepTimings.Measure("patch: initramfs deflate scan to the cut", () => DeflateBlockScanner.Scan(original, deflateStart, end, last.LastTrailerOffset, MaxTail));
        if (cut is null)
        {
            return null;
        }
        // The scanner decoded everything: its CRC and length must be the member's own.
        if (cut.EndByte + 8 > end
            || BinaryPrimitives.ReadUInt32LittleEndian(original.AsSpan((int)cut.EndByte)) != cut.Crc
            || BinaryPrimitives.ReadUInt32LittleEndian(original.AsSpan((int)cut.EndByte + 4)) != (uint)cut.PlainLength)
        {
            throw new InvalidDataException("the gzip member's trailer does not match its data");
        }
        byte[] plain = Plain(cut.Tail, archive);
        // Everything after the kept bytes is made apart and joined once: the kept part is most of
        // a file of tens of MiB, and a growing stream would hold it two or three times over.
        using var output = new MemoryStream();
        long bitInStream = cut.BitPosition;
        int byteIndex = (int)(bitInStream / 8);
        int bitsUsed = (int)(bitInStream % 8);
        // An empty stored block that is not the last: its 3 header bits go after the kept bits,
        // then zero padding to the byte boundary, LEN 0 and NLEN 0xFFFF. It ends the old run of
        // blocks on a byte boundary, where the new deflate output can start.
        int partial = bitsUsed == 0 ? 0 : original[byteIndex] & ((1 << bitsUsed) - 1);
        output.WriteByte((byte)partial);
        if (bitsUsed + 3 > 8)
        {
            output.WriteByte(0);
        }
        output.Write([0x00, 0x00, 0xFF, 0xFF]);
        using (var deflate = new DeflateStream(output, InitramfsCompressor.DeflateLevel, leaveOpen: true))
        {
            deflate.Write(plain);
        }
        Span<byte> trailer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, Crc32Extend(cut.PrefixCrc, plain));
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], (uint)(cut.PlainOffset + plain.Length));
        output.Write(trailer);
        return Concat(original.AsSpan(0, byteIndex), [], output.GetBuffer().AsSpan(0, (int)output.Length));
    }

    private static readonly uint[] CrcTable = BuildCrcTable();

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }
            table[n] = c;
        }
        return table;
    }

    /// <summary>Continues a finished CRC-32 (as zlib's crc32(crc, buf, len) does).</summary>
    internal static uint Crc32Extend(uint crc, ReadOnlySpan<byte> data)
    {
        uint c = ~crc;
        foreach (byte b in data)
        {
            c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        }
        return ~c;
    }

    private static byte[]? AppendZstd(byte[] original, InitramfsSegment last, byte[] archive)
    {
        int start = (int)last.Offset;
        int end = start + (int)last.Length;
        var frames = ZstdSegmentStream.ParseFrames(original, start, end);
        // Only the last frame is cut; the trailer must be in it (zstd writes one frame per stream).
        int lastFrameIndex = frames.FindLastIndex(f => !f.Skippable);
        if (lastFrameIndex < 0 || frames.Skip(lastFrameIndex + 1).Any(f => !f.Skippable))
        {
            return null;
        }
        var frame = frames[lastFrameIndex];

        // The listing pass found the cut and kept the output after it; decode again only when it
        // could not (a segment read another way, or more output after the trailer than it keeps).
        long trailer = last.LastTrailerOffset;
        var decoding = Diagnostics.StepTimings.Measure("patch: initramfs zstd decode to the cut");
        var cut = last.ZstdCut ?? DecodeCut(original, start, end, trailer, -1);
        if (cut is { Tail: null } && trailer - cut.Plain <= MaxTail)
        {
            cut = DecodeCut(original, start, end, trailer, cut.Plain);
        }
        if (cut?.Tail is not { } tail || tail.Length > MaxTail || cut.FrameStart != frame.Start
            || cut.Block >= frame.Blocks.Count || frame.Blocks[cut.Block].HeaderOffset != cut.HeaderOffset)
        {
            return null;
        }
        int cutBlock = cut.Block;
        long cutPlain = cut.Plain;
        ulong cutHash = cut.Hash;
        long plainAtFrame = cut.PlainAtFrame;

        decoding.Dispose();
        using var encoding = Diagnostics.StepTimings.Measure("patch: initramfs zstd encode of the tail");
        byte[] appended;
        using (var compressor = new ZstdSharp.Compressor(InitramfsCompressor.ZstdLevel))
        {
            appended = compressor.Wrap(Plain(tail, archive)).ToArray();
        }
        // The result is assembled in one array of its final size: the kept part is most of a file
        // of tens of MiB, and a growing stream would hold it two or three times over.
        if (cutBlock == 0)
        {
            // The trailer is in the frame's first block: the whole frame is replaced.
            return Concat(original.AsSpan(0, frame.Start), [], appended);
        }
        long prefix = cutPlain - plainAtFrame;
        int headLength = frame.Blocks[cutBlock].HeaderOffset;
        Span<byte> sum = stackalloc byte[frame.Checksum ? 4 : 0];
        if (frame.Checksum)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(sum, (uint)cutHash);
        }
        byte[] result = Concat(original.AsSpan(0, headLength), sum, appended);
        if (!WriteContentSize(result, frame, prefix))
        {
            return null;
        }
        // The block before the cut becomes the frame's last.
        result[frame.Blocks[cutBlock - 1].HeaderOffset] |= 1;
        return result;
    }

    /// <summary>Rewrites the frame's content size, when it has one, for the shortened frame.</summary>
    private static bool WriteContentSize(byte[] head, ZstdFrame frame, long size)
    {
        var field = head.AsSpan(frame.FcsOffset, frame.FcsSize);
        switch (frame.FcsSize)
        {
            case 0:
                return true;
            case 1:
                if (size > 0xFF)
                {
                    return false;
                }
                field[0] = (byte)size;
                return true;
            case 2:
                if (size < 256 || size - 256 > 0xFFFF)
                {
                    return false;
                }
                BinaryPrimitives.WriteUInt16LittleEndian(field, (ushort)(size - 256));
                return true;
            case 4:
                if (size > uint.MaxValue)
                {
                    return false;
                }
                BinaryPrimitives.WriteUInt32LittleEndian(field, (uint)size);
                return true;
            default:
                BinaryPrimitives.WriteUInt64LittleEndian(field, (ulong)size);
                return true;
        }
    }

    /// <summary>A second pass over the segment for its cut; keeps exactly the tail when <paramref name="keepFrom"/> is known.</summary>
    private static ZstdCut? DecodeCut(byte[] original, int start, int end, long trailer, long keepFrom)
    {
        using var stream = new ZstdSegmentStream(original, start, end, keepFrom, keepFrom < 0 ? -1 : trailer);
        stream.CopyTo(Stream.Null);
        return stream.CutBefore(trailer);
    }
}
