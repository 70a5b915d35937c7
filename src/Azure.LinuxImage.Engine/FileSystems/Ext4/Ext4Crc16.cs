namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

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
