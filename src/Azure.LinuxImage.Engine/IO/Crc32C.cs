using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;

namespace Azure.LinuxImage.Engine.IO;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by VHDX headers and ext4/jbd2
/// metadata checksums. System.IO.Hashing only has the IEEE CRC-32, hence this class.
/// </summary>
/// <remarks>
/// <see cref="Compute"/> returns the finalised value (initial value ~seed, final XOR 0xFFFFFFFF),
/// which is what VHDX stores. <see cref="Update"/> works on the raw register without pre/post
/// inversion, which is what ext4's <c>crc32c_le(seed, ...)</c> means; chain raw updates and invert
/// once at the end when the finalised value is needed.
/// </remarks>
public static class Crc32C
{
    private const uint Polynomial = 0x82F63B78;

    private static readonly uint[] Table = BuildTable();

    /// <summary>The finalised CRC-32C of <paramref name="data"/>; chaining: pass a previous result as <paramref name="seed"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data, uint seed = 0) => ~Update(~seed, data);

    /// <summary>Advances the raw CRC register (no inversion on entry or exit).</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            ulong c = crc;
            while (data.Length >= 8)
            {
                c = Sse42.X64.Crc32(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            crc = (uint)c;
        }
        if (Sse42.IsSupported)
        {
            foreach (byte b in data)
            {
                crc = Sse42.Crc32(crc, b);
            }
            return crc;
        }
        foreach (byte b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return crc;
    }

    /// <summary>Advances the raw register by a little-endian 32-bit value (ext4 checksums inode numbers and generations this way).</summary>
    public static uint Update(uint crc, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return Update(crc, bytes);
    }

    /// <summary>The table-driven path alone, so tests can check it against the hardware path.</summary>
    internal static uint UpdateTable(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            }
            table[i] = c;
        }
        return table;
    }
}
