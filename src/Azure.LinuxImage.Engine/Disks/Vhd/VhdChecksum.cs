namespace Azure.LinuxImage.Engine.Disks.Vhd;

/// <summary>The VHD specification's checksum, shared by the footer and the dynamic header.</summary>
public static class VhdChecksum
{
    /// <summary>One's complement of the byte sum of <paramref name="structure"/>, the 4-byte checksum field at <paramref name="checksumOffset"/> taken as zero.</summary>
    public static uint Compute(ReadOnlySpan<byte> structure, int checksumOffset)
    {
        uint sum = 0;
        for (int i = 0; i < structure.Length; i++)
        {
            if (i < checksumOffset || i >= checksumOffset + 4)
            {
                sum += structure[i];
            }
        }
        return ~sum;
    }
}
