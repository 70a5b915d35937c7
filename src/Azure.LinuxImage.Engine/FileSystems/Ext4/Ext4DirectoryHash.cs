using System.Buffers.Binary;
using System.Numerics;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// The htree name hashes (legacy, half-MD4, TEA; each with signed or unsigned chars), written from
/// the on-disk format description. They decide which leaf of a hashed directory a name belongs in.
/// </summary>
internal static class Ext4DirectoryHash
{
    public const int Legacy = 0, HalfMd4 = 1, Tea = 2, LegacyUnsigned = 3, HalfMd4Unsigned = 4, TeaUnsigned = 5;

    public static bool IsSupported(int version) => version is >= Legacy and <= TeaUnsigned;

    /// <summary>The major hash (low bit clear) of a name, as the kernel computes it for directory indexes.</summary>
    public static uint Hash(ReadOnlySpan<byte> name, int version, ReadOnlySpan<uint> seed)
    {
        Span<uint> buf = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
        if (seed.Length == 4 && (seed[0] | seed[1] | seed[2] | seed[3]) != 0)
        {
            seed.CopyTo(buf);
        }
        bool unsigned = version >= LegacyUnsigned;
        uint hash;
        Span<uint> input = stackalloc uint[8];
        switch (version % 3)
        {
            case Legacy:
                hash = DxHack(name, unsigned);
                break;
            case HalfMd4:
                {
                    var p = name;
                    int len = name.Length;
                    do
                    {
                        ToHashBuffer(p, len, input, 8, unsigned);
                        HalfMd4Transform(buf, input);
                        len -= 32;
                        p = p.Length > 32 ? p[32..] : [];
                    }
                    while (len > 0);
                    hash = buf[1];
                    break;
                }
            default:
                {
                    var p = name;
                    int len = name.Length;
                    do
                    {
                        ToHashBuffer(p, len, input, 4, unsigned);
                        TeaTransform(buf, input);
                        len -= 16;
                        p = p.Length > 16 ? p[16..] : [];
                    }
                    while (len > 0);
                    hash = buf[0];
                    break;
                }
        }
        hash &= ~1u;
        if (hash == 0x7FFFFFFFu << 1)
        {
            hash = (0x7FFFFFFFu - 1) << 1;
        }
        return hash;
    }

    private static uint DxHack(ReadOnlySpan<byte> name, bool unsigned)
    {
        uint hash0 = 0x12a3fe2d, hash1 = 0x37abe8f9;
        foreach (byte b in name)
        {
            int c = unsigned ? b : (sbyte)b;
            uint hash = hash1 + (hash0 ^ (uint)(c * 7152373));
            if ((hash & 0x80000000) != 0)
            {
                hash -= 0x7fffffff;
            }
            hash1 = hash0;
            hash0 = hash;
        }
        return hash0 << 1;
    }

    private static void ToHashBuffer(ReadOnlySpan<byte> msg, int len, Span<uint> buf, int num, bool unsigned)
    {
        uint pad = (uint)len | ((uint)len << 8);
        pad |= pad << 16;
        uint val = pad;
        if (len > num * 4)
        {
            len = num * 4;
        }
        int at = 0;
        for (int i = 0; i < len; i++)
        {
            int c = unsigned ? msg[i] : (sbyte)msg[i];
            val = (uint)c + (val << 8);
            if (i % 4 == 3)
            {
                buf[at++] = val;
                val = pad;
                num--;
            }
        }
        if (--num >= 0)
        {
            buf[at++] = val;
        }
        while (--num >= 0)
        {
            buf[at++] = pad;
        }
    }

    private static uint F(uint x, uint y, uint z) => z ^ (x & (y ^ z));

    private static uint G(uint x, uint y, uint z) => (x & y) + ((x ^ y) & z);

    private static uint H(uint x, uint y, uint z) => x ^ y ^ z;

    private static void HalfMd4Transform(Span<uint> buf, ReadOnlySpan<uint> x)
    {
        const uint K2 = 0x5A827999, K3 = 0x6ED9EBA1;
        uint a = buf[0], b = buf[1], c = buf[2], d = buf[3];
        a = BitOperations.RotateLeft(a + F(b, c, d) + x[0], 3);
        d = BitOperations.RotateLeft(d + F(a, b, c) + x[1], 7);
        c = BitOperations.RotateLeft(c + F(d, a, b) + x[2], 11);
        b = BitOperations.RotateLeft(b + F(c, d, a) + x[3], 19);
        a = BitOperations.RotateLeft(a + F(b, c, d) + x[4], 3);
        d = BitOperations.RotateLeft(d + F(a, b, c) + x[5], 7);
        c = BitOperations.RotateLeft(c + F(d, a, b) + x[6], 11);
        b = BitOperations.RotateLeft(b + F(c, d, a) + x[7], 19);

        a = BitOperations.RotateLeft(a + G(b, c, d) + x[1] + K2, 3);
        d = BitOperations.RotateLeft(d + G(a, b, c) + x[3] + K2, 5);
        c = BitOperations.RotateLeft(c + G(d, a, b) + x[5] + K2, 9);
        b = BitOperations.RotateLeft(b + G(c, d, a) + x[7] + K2, 13);
        a = BitOperations.RotateLeft(a + G(b, c, d) + x[0] + K2, 3);
        d = BitOperations.RotateLeft(d + G(a, b, c) + x[2] + K2, 5);
        c = BitOperations.RotateLeft(c + G(d, a, b) + x[4] + K2, 9);
        b = BitOperations.RotateLeft(b + G(c, d, a) + x[6] + K2, 13);

        a = BitOperations.RotateLeft(a + H(b, c, d) + x[3] + K3, 3);
        d = BitOperations.RotateLeft(d + H(a, b, c) + x[7] + K3, 9);
        c = BitOperations.RotateLeft(c + H(d, a, b) + x[2] + K3, 11);
        b = BitOperations.RotateLeft(b + H(c, d, a) + x[6] + K3, 15);
        a = BitOperations.RotateLeft(a + H(b, c, d) + x[1] + K3, 3);
        d = BitOperations.RotateLeft(d + H(a, b, c) + x[5] + K3, 9);
        c = BitOperations.RotateLeft(c + H(d, a, b) + x[0] + K3, 11);
        b = BitOperations.RotateLeft(b + H(c, d, a) + x[4] + K3, 15);

        buf[0] += a;
        buf[1] += b;
        buf[2] += c;
        buf[3] += d;
    }

    private static void TeaTransform(Span<uint> buf, ReadOnlySpan<uint> x)
    {
        uint sum = 0, b0 = buf[0], b1 = buf[1];
        uint a = x[0], b = x[1], c = x[2], d = x[3];
        for (int n = 0; n < 16; n++)
        {
            sum += 0x9E3779B9;
            b0 += ((b1 << 4) + a) ^ (b1 + sum) ^ ((b1 >> 5) + b);
            b1 += ((b0 << 4) + c) ^ (b0 + sum) ^ ((b0 >> 5) + d);
        }
        buf[0] += b0;
        buf[1] += b1;
    }

    public static uint[] Seed(Ext4Superblock sb)
    {
        var seed = new uint[4];
        for (int i = 0; i < 4; i++)
        {
            seed[i] = BinaryPrimitives.ReadUInt32LittleEndian(sb.Raw.AsSpan(0xEC + (i * 4)));
        }
        return seed;
    }
}
