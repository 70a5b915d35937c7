using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Azure.LinuxImage.Engine.Guest.Initramfs;

/// <summary>
/// A raw deflate stream decoded by the system's zlib, stopping at every block boundary (Z_BLOCK),
/// so that the pass that lists the archive also learns where each block starts (bit position,
/// output offset, CRC-32 of the output before it): the cut <see cref="InitramfsAppender"/> needs,
/// without the second, managed pass of <see cref="DeflateBlockScanner"/>. The last few MiB of
/// output are kept for the re-encoded tail.
/// </summary>
internal sealed unsafe class ZlibBlockStream : ForwardReadStream
{
    private const int RingSize = 4 << 20;
    private const int ZBufError = -5;

    private readonly NativeCompression.Zlib zlib;
    private NativeCompression.ZStream* stream;
    private readonly byte[] input;
    private readonly int end;
    private readonly byte[] buffer = new byte[256 << 10];
    private readonly byte[] ring = new byte[RingSize];
    private readonly Crc32 crc = new();
    private readonly Queue<(long Bit, long Plain, uint Crc)> boundaries = new();
    private int position;
    private int served;
    private int produced;
    private bool finished;

    private ZlibBlockStream(NativeCompression.Zlib zlib, byte[] input, int start, int end)
    {
        this.zlib = zlib;
        this.input = input;
        this.end = end;
        position = start;
        // zlib keeps a pointer to the z_stream: it must not move.
        stream = (NativeCompression.ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(NativeCompression.ZStream));
        if (zlib.InitRaw(stream) != NativeCompression.Zlib.Ok)
        {
            NativeMemory.Free(stream);
            stream = null;
            throw new InvalidOperationException("zlib's inflateInit2 failed");
        }
        boundaries.Enqueue(((long)start * 8, 0, 0));
    }

    /// <summary>A decoder for the deflate data from <paramref name="start"/>, or null without the system's zlib.</summary>
    public static ZlibBlockStream? TryOpen(byte[] input, int start, int end) =>
        NativeCompression.ZlibLibrary is { } zlib ? new ZlibBlockStream(zlib, input, start, end) : null;

    /// <summary>Output so far.</summary>
    public long Plain { get; private set; }

    /// <summary>CRC-32 of the output so far.</summary>
    public uint Crc => crc.GetCurrentHashAsUInt32();

    /// <summary>Where the deflate stream ended (the byte after its last block), once it has.</summary>
    public int EndByte => finished ? position : throw new InvalidOperationException("the deflate stream has not ended");

    /// <summary>
    /// The last block start at or before output offset <paramref name="trailer"/> with the output
    /// from there to it; null when that block start is no longer among the kept output (the
    /// managed scanner then finds it again). Call after the stream has ended.
    /// </summary>
    public DeflateCut? CutBefore(long trailer, int maxTail)
    {
        (long Bit, long Plain, uint Crc)? cut = null;
        foreach (var b in boundaries)
        {
            if (b.Plain <= trailer)
            {
                cut = b;
            }
        }
        if (!finished || cut is not { } c || Plain < trailer || Plain - c.Plain > RingSize || trailer - c.Plain > maxTail)
        {
            return null;
        }
        var tail = new byte[trailer - c.Plain];
        for (long p = c.Plain, i = 0; p < trailer;)
        {
            int at = (int)(p % RingSize);
            int n = (int)Math.Min(trailer - p, RingSize - at);
            ring.AsSpan(at, n).CopyTo(tail.AsSpan((int)i));
            p += n;
            i += n;
        }
        return new DeflateCut(c.Bit, c.Plain, c.Crc, tail, Plain, Crc, EndByte);
    }


    public override int Read(Span<byte> destination)
    {
        while (served == produced)
        {
            if (finished)
            {
                return 0;
            }
            Inflate();
        }
        int n = Math.Min(destination.Length, produced - served);
        buffer.AsSpan(served, n).CopyTo(destination);
        served += n;
        return n;
    }

    private void Inflate()
    {
        int result;
        int consumed;
        fixed (byte* src = input)
        fixed (byte* dst = buffer)
        {
            // The arrays are pinned only during the call: zlib copies what it keeps into its window.
            stream->NextIn = src + position;
            stream->AvailIn = (uint)(end - position);
            stream->NextOut = dst;
            stream->AvailOut = (uint)buffer.Length;
            result = zlib.Inflate(stream, NativeCompression.Zlib.Block);
            consumed = (int)(stream->NextIn - (src + position));
            produced = buffer.Length - (int)stream->AvailOut;
        }
        served = 0;
        position += consumed;
        if (result == ZBufError && consumed == 0 && produced == 0)
        {
            throw new InvalidDataException("deflate stream truncated");
        }
        if (result != NativeCompression.Zlib.Ok && result != NativeCompression.Zlib.StreamEnd && result != ZBufError)
        {
            throw new InvalidDataException("deflate data is damaged");
        }
        Take(buffer.AsSpan(0, produced));
        if (result == NativeCompression.Zlib.StreamEnd)
        {
            finished = true;
            return;
        }
        int flags = stream->DataType;
        // 128: stopped right after a block's end-of-block code; 64: that block was the last.
        if ((flags & 128) != 0 && (flags & 64) == 0)
        {
            boundaries.Enqueue((((long)position * 8) - (flags & 7), Plain, Crc));
            // Block starts older than the kept output can no longer be cut at.
            while (boundaries.Count > 1 && Plain - boundaries.Peek().Plain > RingSize)
            {
                boundaries.Dequeue();
            }
        }
    }

    private void Take(ReadOnlySpan<byte> fresh)
    {
        if (fresh.IsEmpty)
        {
            return;
        }
        crc.Append(fresh);
        int at = (int)(Plain % RingSize);
        int n = Math.Min(fresh.Length, RingSize - at);
        fresh[..n].CopyTo(ring.AsSpan(at));
        fresh[n..].CopyTo(ring);
        Plain += fresh.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (stream is not null)
        {
            zlib.End(stream);
            NativeMemory.Free(stream);
            stream = null;
        }
        base.Dispose(disposing);
    }

}
