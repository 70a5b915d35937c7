using System.Buffers.Binary;
using System.IO.Hashing;

namespace Azure.LinuxImage.Engine.Guest.Initramfs;

internal sealed record ZstdBlock(int HeaderOffset, int End, bool Last);

internal sealed record ZstdFrame(int Start, int FirstBlock, int End, bool Checksum, int FcsOffset, int FcsSize, bool Skippable, List<ZstdBlock> Blocks);

/// <summary>
/// Where the last zstd frame of a segment can be cut: the start of the block that holds the
/// archive's trailer, the output before it (from the frame's start, and its XXH64 for the
/// shortened frame's checksum) and the output from there up to the trailer (null when it was not
/// kept and must be decoded again).
/// </summary>
internal sealed record ZstdCut(int FrameStart, int Block, int HeaderOffset, long Plain, long PlainAtFrame, ulong Hash, byte[]? Tail);

/// <summary>
/// A zstd segment (frames and skippable frames) decoded block by block: the frame and block
/// headers are walked without decompressing (a block's 3-byte header gives its compressed size),
/// and the decoder is fed one whole block at a time, so the output offset and the frame's running
/// XXH64 at every block start of the last frame are known after one pass. The last few MiB of
/// output are kept, which holds the block with the trailer in any real initramfs.
/// </summary>
internal sealed unsafe class ZstdSegmentStream : ForwardReadStream
{
    internal const int RingSize = 4 << 20;

    private readonly byte[] input;
    private readonly List<ZstdFrame> frames;
    private readonly byte[] buffer = new byte[1 << 20];
    private readonly NativeCompression.Zstd? native;
    private readonly nint nativeContext;
    private readonly ZstdSharp.Unsafe.ZSTD_DCtx_s* managedContext;
    private readonly XxHash64 hash = new();
    private readonly byte[]? ring;
    private readonly long keepFrom;
    private readonly long keepTo;
    private readonly List<byte> window = [];
    private readonly List<(int Block, int HeaderOffset, long Plain, ulong Hash)> boundaries = [];
    private int frame = -1;
    private int block = -1;
    private int limit;
    private nuint position;
    private int served;
    private int produced;
    private bool unitDone = true;
    private long plainAtFrame;
    private int lastFrame = -1;

    /// <param name="keepFrom">With <paramref name="keepTo"/>: keep exactly this output range instead of the last few MiB.</param>
    public ZstdSegmentStream(byte[] data, int start, int end, long keepFrom = -1, long keepTo = -1)
    {
        input = data;
        frames = ParseFrames(data, start, end);
        this.keepFrom = keepFrom;
        this.keepTo = keepTo;
        if (keepFrom < 0)
        {
            ring = new byte[RingSize];
        }
        native = NativeCompression.ZstdLibrary;
        if (native is not null)
        {
            nativeContext = native.Create();
        }
        if (nativeContext == 0)
        {
            native = null;
            managedContext = ZstdSharp.Unsafe.Methods.ZSTD_createDCtx();
        }
    }

    /// <summary>Output so far.</summary>
    public long Plain { get; private set; }

    public IReadOnlyList<ZstdFrame> Frames => frames;

    /// <summary>
    /// The last block start of the last frame at or before output offset <paramref name="trailer"/>,
    /// with the output from there to it when it was kept; null when that frame has no such block.
    /// Call after the stream has been read to its end.
    /// </summary>
    public ZstdCut? CutBefore(long trailer)
    {
        int index = boundaries.FindLastIndex(b => b.Plain <= trailer);
        if (lastFrame < 0 || index < 0 || Plain < trailer)
        {
            return null;
        }
        var b = boundaries[index];
        byte[]? tail = null;
        if (ring is not null && Plain - b.Plain <= RingSize)
        {
            tail = new byte[trailer - b.Plain];
            for (long p = b.Plain, i = 0; p < trailer;)
            {
                int at = (int)(p % RingSize);
                int n = (int)Math.Min(trailer - p, RingSize - at);
                ring.AsSpan(at, n).CopyTo(tail.AsSpan((int)i));
                p += n;
                i += n;
            }
        }
        else if (ring is null && keepFrom == b.Plain && keepTo == trailer)
        {
            tail = [.. window];
        }
        return new ZstdCut(frames[lastFrame].Start, b.Block, b.HeaderOffset, b.Plain, plainAtFrame, b.Hash, tail);
    }


    public override int Read(Span<byte> destination)
    {
        while (served == produced)
        {
            if (!Advance())
            {
                return 0;
            }
        }
        int n = Math.Min(destination.Length, produced - served);
        buffer.AsSpan(served, n).CopyTo(destination);
        served += n;
        return n;
    }

    /// <summary>Decodes the next piece of output (or moves to the next frame header or block); false at the end.</summary>
    private bool Advance()
    {
        served = produced = 0;
        if (unitDone && !NextUnit())
        {
            return false;
        }
        nuint before = position;
        nuint outPos = 0;
        fixed (byte* src = input)
        fixed (byte* dst = buffer)
        {
            if (native is not null)
            {
                var inBuf = new NativeCompression.ZstdBuffer { Data = src, Size = (nuint)limit, Pos = position };
                var outBuf = new NativeCompression.ZstdBuffer { Data = dst, Size = (nuint)buffer.Length, Pos = 0 };
                if (!native.Decompress(nativeContext, &outBuf, &inBuf))
                {
                    throw new InvalidDataException("zstd data is damaged");
                }
                position = inBuf.Pos;
                outPos = outBuf.Pos;
            }
            else
            {
                nuint at = position;
                nuint result = ZstdSharp.Unsafe.Methods.ZSTD_decompressStream_simpleArgs(managedContext, dst, (nuint)buffer.Length, &outPos, src, (nuint)limit, &at);
                if (ZstdSharp.Unsafe.Methods.ZSTD_isError(result))
                {
                    throw new InvalidDataException("zstd data is damaged");
                }
                position = at;
            }
        }
        produced = (int)outPos;
        Take(buffer.AsSpan(0, produced));
        if (produced < buffer.Length && position == (nuint)limit)
        {
            unitDone = true;
        }
        else if (produced == 0 && position == before)
        {
            throw new InvalidDataException("zstd data is damaged (the decoder made no progress)");
        }
        return true;
    }

    /// <summary>Steps to the next frame header or block; records the block start.</summary>
    private bool NextUnit()
    {
        while (true)
        {
            if (frame >= frames.Count)
            {
                return false;
            }
            if (frame >= 0 && block + 1 < frames[frame].Blocks.Count)
            {
                block++;
                var b = frames[frame].Blocks[block];
                boundaries.Add((block, b.HeaderOffset, Plain, hash.GetCurrentHashAsUInt64()));
                limit = b.Last ? frames[frame].End : b.End;
                unitDone = false;
                return true;
            }
            if (++frame >= frames.Count)
            {
                return false;
            }
            var f = frames[frame];
            if (f.Skippable)
            {
                continue;
            }
            // A new frame: the cut can only be in the last one.
            position = (nuint)f.Start;
            limit = f.FirstBlock;
            block = -1;
            boundaries.Clear();
            hash.Reset();
            plainAtFrame = Plain;
            lastFrame = frame;
            unitDone = false;
            return true;
        }
    }

    private void Take(ReadOnlySpan<byte> fresh)
    {
        if (fresh.IsEmpty)
        {
            return;
        }
        hash.Append(fresh);
        if (ring is not null)
        {
            var rest = fresh.Length > RingSize ? fresh[^RingSize..] : fresh;
            long p = Plain + fresh.Length - rest.Length;
            while (!rest.IsEmpty)
            {
                int at = (int)(p % RingSize);
                int n = Math.Min(rest.Length, RingSize - at);
                rest[..n].CopyTo(ring.AsSpan(at));
                rest = rest[n..];
                p += n;
            }
        }
        else
        {
            long from = Math.Max(keepFrom, Plain);
            long to = Math.Min(keepTo, Plain + fresh.Length);
            if (from < to)
            {
                window.AddRange(fresh.Slice((int)(from - Plain), (int)(to - from)));
            }
        }
        Plain += fresh.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (nativeContext != 0)
        {
            native?.Free(nativeContext);
        }
        if (managedContext is not null)
        {
            ZstdSharp.Unsafe.Methods.ZSTD_freeDCtx(managedContext);
        }
        base.Dispose(disposing);
    }


    /// <summary>The frames between <paramref name="start"/> and <paramref name="end"/>, walked by their headers.</summary>
    internal static List<ZstdFrame> ParseFrames(byte[] data, int start, int end)
    {
        var frames = new List<ZstdFrame>();
        int p = start;
        while (p + 4 <= end)
        {
            uint magic = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(p));
            if ((magic & 0xFFFFFFF0) == 0x184D2A50)
            {
                if (p + 8 > end)
                {
                    throw new InvalidDataException("zstd skippable frame truncated");
                }
                long size = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(p + 4));
                if (p + 8 + size > end)
                {
                    throw new InvalidDataException("zstd skippable frame truncated");
                }
                frames.Add(new ZstdFrame(p, p, p + 8 + (int)size, false, 0, 0, true, []));
                p += 8 + (int)size;
                continue;
            }
            if (magic != 0xFD2FB528)
            {
                break;
            }
            int q = p + 4;
            if (q >= end)
            {
                throw new InvalidDataException("zstd frame truncated");
            }
            byte descriptor = data[q++];
            int fcsFlag = descriptor >> 6;
            bool singleSegment = (descriptor & 0x20) != 0;
            bool checksum = (descriptor & 0x04) != 0;
            int dictIdSize = (descriptor & 3) switch { 0 => 0, 1 => 1, 2 => 2, _ => 4 };
            int fcsSize = fcsFlag switch { 0 => singleSegment ? 1 : 0, 1 => 2, 2 => 4, _ => 8 };
            q += (singleSegment ? 0 : 1) + dictIdSize;
            int fcsOffset = q;
            q += fcsSize;
            int firstBlock = q;
            var blocks = new List<ZstdBlock>();
            while (true)
            {
                if (q + 3 > end || blocks.Count > 1 << 24)
                {
                    throw new InvalidDataException("zstd frame truncated");
                }
                int header = data[q] | (data[q + 1] << 8) | (data[q + 2] << 16);
                bool lastBlock = (header & 1) != 0;
                int type = (header >> 1) & 3;
                int size = header >> 3;
                if (type == 3)
                {
                    throw new InvalidDataException("zstd block of reserved type");
                }
                int blockEnd = q + 3 + (type == 1 ? 1 : size);
                if (blockEnd > end)
                {
                    throw new InvalidDataException("zstd block runs past the end");
                }
                blocks.Add(new ZstdBlock(q, blockEnd, lastBlock));
                q = blockEnd;
                if (lastBlock)
                {
                    break;
                }
            }
            int frameEnd = q + (checksum ? 4 : 0);
            if (frameEnd > end)
            {
                throw new InvalidDataException("zstd frame truncated");
            }
            frames.Add(new ZstdFrame(p, firstBlock, frameEnd, checksum, fcsOffset, fcsSize, false, blocks));
            p = frameEnd;
        }
        return frames;
    }
}
