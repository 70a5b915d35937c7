using System.Buffers;
using System.IO.Hashing;

namespace Azure.LinuxImage.Engine.Guest.Initramfs;

/// <summary>Where a raw deflate stream can be cut: a block start before a given output offset.</summary>
internal sealed record DeflateCut(long BitPosition, long PlainOffset, uint PrefixCrc, byte[] Tail, long PlainLength, uint Crc, long EndByte);

/// <summary>
/// Inflates a raw deflate stream (RFC 1951) only to learn where its blocks start: the bit position,
/// the output offset and the CRC-32 of the output before each. Blocks are not byte-aligned and
/// nothing else marks them, so the whole stream must be decoded; the output itself is kept only
/// from the chosen block on (a sliding window serves back references). Memory: the window, one
/// output buffer and the kept tail.
/// </summary>
internal sealed class DeflateBlockScanner
{
    private const int FastBits = 10;
    private const int WindowSize = 32 * 1024;
    private const int FlushSize = 1024 * 1024;

    private static readonly ushort[] LengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
    private static readonly byte[] LengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
    private static readonly ushort[] DistanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
    private static readonly byte[] DistanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
    private static readonly byte[] CodeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

    private readonly byte[] input;
    private readonly int end;
    private int pos;
    private ulong bits;
    private int bitCount;

    private readonly byte[] output = new byte[WindowSize + FlushSize + 258];
    private int op;
    private int consumed;
    private long outputBase; // plain offset of output[0]
    private readonly Crc32 crc = new();

    private readonly long cutBefore;
    private readonly int maxTail;
    private long retainFrom = -1;
    private readonly ArrayBufferWriter<byte> tail = new();
    private long cutBit = -1;
    private uint prefixCrc;

    private readonly Huffman litLen = new(288);
    private readonly Huffman distance = new(32);
    private readonly Huffman codeLengths = new(19);

    private DeflateBlockScanner(byte[] input, int start, int end, long cutBefore, int maxTail)
    {
        this.input = input;
        pos = start;
        this.end = end;
        this.cutBefore = cutBefore;
        this.maxTail = maxTail;
    }

    /// <summary>
    /// Decodes the stream starting at <paramref name="start"/> and returns the last block start at
    /// or before output offset <paramref name="cutBefore"/>, with the output from there up to
    /// <paramref name="cutBefore"/>. Null when that tail would exceed <paramref name="maxTail"/>
    /// bytes. Throws <see cref="InvalidDataException"/> on damaged data.
    /// </summary>
    public static DeflateCut? Scan(byte[] input, int start, int end, long cutBefore, int maxTail)
    {
        var scanner = new DeflateBlockScanner(input, start, end, cutBefore, maxTail);
        return scanner.Run() ? scanner.Result() : null;
    }

    private DeflateCut Result() => new(cutBit, retainFrom, prefixCrc, tail.WrittenSpan.ToArray(), outputBase + op, crc.GetCurrentHashAsUInt32(), pos - (bitCount / 8));

    private bool Run()
    {
        bool last;
        do
        {
            long plain = outputBase + op;
            if (plain <= cutBefore)
            {
                Consume();
                cutBit = ((long)pos * 8) - bitCount;
                prefixCrc = crc.GetCurrentHashAsUInt32();
                retainFrom = plain;
                tail.Clear();
            }
            Refill();
            last = Take(1) == 1;
            int type = Take(2);
            switch (type)
            {
                case 0:
                    Stored();
                    break;
                case 1:
                    Fixed();
                    Codes();
                    break;
                case 2:
                    Dynamic();
                    Codes();
                    break;
                default:
                    throw new InvalidDataException("deflate block of reserved type 3");
            }
            if (tail.WrittenCount > maxTail)
            {
                return false;
            }
        }
        while (!last);
        Consume();
        if (pos - (bitCount / 8) > end)
        {
            throw new InvalidDataException("deflate stream runs past the end of the data");
        }
        return true;
    }

    private void Refill()
    {
        while (bitCount <= 56)
        {
            // Past the end, zeros: a stream that needs them is caught by the end check.
            ulong b = pos < end ? input[pos] : 0UL;
            if (pos >= end + 8)
            {
                throw new InvalidDataException("deflate stream truncated");
            }
            pos++;
            bits |= b << bitCount;
            bitCount += 8;
        }
    }

    private int Take(int n)
    {
        int v = (int)(bits & ((1UL << n) - 1));
        bits >>= n;
        bitCount -= n;
        return v;
    }

    private void Stored()
    {
        // Drop to the byte boundary; whole bytes still buffered are given back to the input.
        Take(bitCount % 8);
        pos -= bitCount / 8;
        bits = 0;
        bitCount = 0;
        if (pos + 4 > end)
        {
            throw new InvalidDataException("deflate stored block truncated");
        }
        int length = input[pos] | (input[pos + 1] << 8);
        int check = input[pos + 2] | (input[pos + 3] << 8);
        if ((length ^ 0xFFFF) != check)
        {
            throw new InvalidDataException("deflate stored block length check failed");
        }
        pos += 4;
        if (pos + length > end)
        {
            throw new InvalidDataException("deflate stored block truncated");
        }
        while (length > 0)
        {
            int n = Math.Min(length, output.Length - op);
            input.AsSpan(pos, n).CopyTo(output.AsSpan(op));
            op += n;
            pos += n;
            length -= n;
            if (op > WindowSize + FlushSize)
            {
                Slide();
            }
        }
    }

    private void Fixed()
    {
        Span<byte> lengths = stackalloc byte[288 + 32];
        lengths[..144].Fill(8);
        lengths[144..256].Fill(9);
        lengths[256..280].Fill(7);
        lengths[280..288].Fill(8);
        lengths[288..].Fill(5);
        litLen.Build(lengths[..288]);
        distance.Build(lengths[288..]);
    }

    private void Dynamic()
    {
        Refill();
        int nlen = Take(5) + 257;
        int ndist = Take(5) + 1;
        int ncode = Take(4) + 4;
        if (nlen > 286 || ndist > 30)
        {
            throw new InvalidDataException("deflate block has too many codes");
        }
        Span<byte> lengths = stackalloc byte[320];
        lengths.Clear();
        for (int i = 0; i < ncode; i++)
        {
            Refill();
            lengths[CodeLengthOrder[i]] = (byte)Take(3);
        }
        codeLengths.Build(lengths[..19]);
        lengths.Clear();
        int index = 0;
        while (index < nlen + ndist)
        {
            Refill();
            int symbol = Decode(codeLengths);
            if (symbol < 16)
            {
                lengths[index++] = (byte)symbol;
                continue;
            }
            int repeat;
            byte value = 0;
            if (symbol == 16)
            {
                if (index == 0)
                {
                    throw new InvalidDataException("deflate repeat with no previous length");
                }
                value = lengths[index - 1];
                repeat = 3 + Take(2);
            }
            else if (symbol == 17)
            {
                repeat = 3 + Take(3);
            }
            else
            {
                repeat = 11 + Take(7);
            }
            if (index + repeat > nlen + ndist)
            {
                throw new InvalidDataException("deflate code lengths overrun");
            }
            lengths.Slice(index, repeat).Fill(value);
            index += repeat;
        }
        if (lengths[256] == 0)
        {
            throw new InvalidDataException("deflate block has no end-of-block code");
        }
        litLen.Build(lengths[..nlen]);
        distance.Build(lengths.Slice(nlen, ndist));
    }

    private void Codes()
    {
        byte[] outBuf = output;
        while (true)
        {
            Refill();
            int symbol = Decode(litLen);
            if (symbol < 256)
            {
                outBuf[op++] = (byte)symbol;
            }
            else if (symbol == 256)
            {
                return;
            }
            else
            {
                symbol -= 257;
                if (symbol >= 29)
                {
                    throw new InvalidDataException("deflate length code out of range");
                }
                int length = LengthBase[symbol] + Take(LengthExtra[symbol]);
                int dsym = Decode(distance);
                if (dsym >= 30)
                {
                    throw new InvalidDataException("deflate distance code out of range");
                }
                int dist = DistanceBase[dsym] + Take(DistanceExtra[dsym]);
                if (dist > outputBase + op || dist > op)
                {
                    throw new InvalidDataException("deflate distance reaches before the start");
                }
                int from = op - dist;
                if (dist >= length)
                {
                    Buffer.BlockCopy(outBuf, from, outBuf, op, length);
                    op += length;
                }
                else
                {
                    for (int i = 0; i < length; i++)
                    {
                        outBuf[op++] = outBuf[from + i];
                    }
                }
            }
            if (op > WindowSize + FlushSize)
            {
                Slide();
            }
        }
    }

    /// <summary>Hashes (and keeps, from the cut on) the output not yet seen.</summary>
    private void Consume()
    {
        if (op <= consumed)
        {
            return;
        }
        var fresh = output.AsSpan(consumed, op - consumed);
        crc.Append(fresh);
        if (retainFrom >= 0)
        {
            long freshStart = outputBase + consumed;
            long from = Math.Max(retainFrom, freshStart);
            long to = Math.Min(cutBefore, outputBase + op);
            if (from < to)
            {
                tail.Write(fresh.Slice((int)(from - freshStart), (int)(to - from)));
            }
        }
        consumed = op;
    }

    private void Slide()
    {
        Consume();
        int shift = op - WindowSize;
        Buffer.BlockCopy(output, shift, output, 0, WindowSize);
        op -= shift;
        consumed -= shift;
        outputBase += shift;
    }

    private int Decode(Huffman h)
    {
        int entry = h.Fast[(int)(bits & ((1 << FastBits) - 1))];
        if (entry != 0)
        {
            Take(entry & 15);
            return entry >> 4;
        }
        // Codes longer than the table (canonical decoding, one bit at a time).
        int code = 0;
        int first = 0;
        int index = 0;
        ulong b = bits;
        for (int len = 1; len <= 15; len++)
        {
            code |= (int)(b & 1);
            b >>= 1;
            int count = h.Count[len];
            if (code - count < first)
            {
                Take(len);
                return h.Symbols[index + (code - first)];
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        throw new InvalidDataException("invalid deflate Huffman code");
    }

    private sealed class Huffman(int maxSymbols)
    {
        public readonly int[] Fast = new int[1 << FastBits];
        public readonly short[] Count = new short[16];
        public readonly short[] Symbols = new short[maxSymbols];

        public void Build(ReadOnlySpan<byte> lengths)
        {
            Array.Clear(Count);
            Array.Clear(Fast);
            foreach (byte l in lengths)
            {
                Count[l]++;
            }
            Count[0] = 0;
            int left = 1;
            for (int len = 1; len <= 15; len++)
            {
                left = (left << 1) - Count[len];
                if (left < 0)
                {
                    throw new InvalidDataException("over-subscribed deflate Huffman code");
                }
            }
            Span<short> offsets = stackalloc short[16];
            for (int len = 1; len < 15; len++)
            {
                offsets[len + 1] = (short)(offsets[len] + Count[len]);
            }
            for (int symbol = 0; symbol < lengths.Length; symbol++)
            {
                if (lengths[symbol] != 0)
                {
                    Symbols[offsets[lengths[symbol]]++] = (short)symbol;
                }
            }
            // The fast table: every code of up to FastBits bits, indexed by its bit-reversed form
            // (deflate sends Huffman codes most significant bit first into an LSB-first stream).
            int code = 0;
            int k = 0;
            for (int len = 1; len <= 15; len++, code <<= 1)
            {
                for (int i = 0; i < Count[len]; i++, code++, k++)
                {
                    if (len > FastBits)
                    {
                        continue;
                    }
                    int reversed = 0;
                    for (int b = 0; b < len; b++)
                    {
                        reversed |= ((code >> b) & 1) << (len - 1 - b);
                    }
                    for (int at = reversed; at < (1 << FastBits); at += 1 << len)
                    {
                        Fast[at] = (Symbols[k] << 4) | len;
                    }
                }
            }
        }
    }
}
