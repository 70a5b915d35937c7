using System.Buffers.Binary;
using System.Numerics;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// The checksums ext4 uses. Kept internal to this engine so it never clashes with a general-purpose
/// CRC elsewhere in the product. ext4's crc32c is the raw Castagnoli update (no pre/post inversion
/// inside; callers start from ~0 and store the result as is), which is exactly what
/// <see cref="BitOperations.Crc32C(uint, ulong)"/> computes, hardware-accelerated where available.
/// </summary>
internal static class Ext4Crc32C
{
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }
        return crc;
    }

    public static uint UpdateUInt32(uint crc, uint value) => BitOperations.Crc32C(crc, value);
}

/// <summary>The CRC-16 (poly 0x8005, reflected) of the older gdt_csum (uninit_bg) feature.</summary>
internal static class Ext4Crc16
{
    private static readonly ushort[] Table = BuildTable();

    private static ushort[] BuildTable()
    {
        var table = new ushort[256];
        for (int i = 0; i < 256; i++)
        {
            int c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ 0xA001 : c >> 1;
            }
            table[i] = (ushort)c;
        }
        return table;
    }

    public static ushort Update(ushort crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc = (ushort)((crc >> 8) ^ Table[(crc ^ b) & 0xFF]);
        }
        return crc;
    }
}
