using System.Buffers.Binary;

namespace Azure.LinuxImage.Fuzz;

/// <summary>
/// AFL-style havoc mutations, biased to the places disk formats keep their metadata (the first
/// 64 KiB, table areas) and to the values that break parsers (0, all ones, sign bits, sizes near 2^32 and 2^64).
/// </summary>
internal static class Mutator
{
    private static readonly ulong[] Interesting =
    [
        0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x200, 0x1000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF,
        0x100000000, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFE00, 0xFFFFFFFFFFFFFFFF,
    ];

    public static byte[] Mutate(byte[] seed, Random random)
    {
        var data = (byte[])seed.Clone();
        int rounds = 1 + random.Next(8);
        for (int r = 0; r < rounds; r++)
        {
            int at = Position(data.Length, random);
            switch (random.Next(9))
            {
                case 0:
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    data[at] = (byte)random.Next(256);
                    break;
                case 2 when at + 4 <= data.Length:
                    WriteInteresting(data.AsSpan(at, 4), random);
                    break;
                case 3 when at + 8 <= data.Length:
                    WriteInteresting(data.AsSpan(at, 8), random);
                    break;
                case 4:
                    // Truncation, at any point: headers, tables or data.
                    return data.AsSpan(0, random.Next(data.Length)).ToArray();
                case 5 when at + 16 <= data.Length:
                {
                    int from = Position(data.Length, random);
                    int length = Math.Min(random.Next(1, 512), Math.Min(data.Length - at, data.Length - from));
                    data.AsSpan(from, length).CopyTo(data.AsSpan(at, length));
                    break;
                }
                case 6:
                {
                    int length = Math.Min(random.Next(1, 4096), data.Length - at);
                    random.NextBytes(data.AsSpan(at, length));
                    break;
                }
                case 7 when at + 4 <= data.Length:
                {
                    // Small arithmetic on a 32-bit field, either endianness.
                    int delta = random.Next(-64, 65);
                    if (random.Next(2) == 0)
                    {
                        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(at), BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(at)) + delta);
                    }
                    else
                    {
                        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(at), BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(at)) + delta);
                    }
                    break;
                }
                default:
                    data[at] = 0;
                    break;
            }
        }
        return data;
    }

    private static int Position(int length, Random random)
    {
        // Metadata lives near the start and in the occasional table further on: favour the head.
        int roll = random.Next(10);
        int limit = roll < 5 ? Math.Min(length, 4096) : roll < 8 ? Math.Min(length, 1024 * 1024) : length;
        return random.Next(Math.Max(1, limit));
    }

    private static void WriteInteresting(Span<byte> target, Random random)
    {
        ulong value = Interesting[random.Next(Interesting.Length)];
        bool big = random.Next(2) == 0;
        if (target.Length == 4)
        {
            if (big)
            {
                BinaryPrimitives.WriteUInt32BigEndian(target, (uint)value);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(target, (uint)value);
            }
        }
        else if (big)
        {
            BinaryPrimitives.WriteUInt64BigEndian(target, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt64LittleEndian(target, value);
        }
    }
}
