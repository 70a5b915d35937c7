namespace Azure.LinuxImage.Engine.Disks.Vhd;

/// <summary>Cylinder/head/sector geometry, computed with the algorithm in the VHD specification (appendix "CHS calculation").</summary>
public readonly record struct VhdGeometry(ushort Cylinders, byte Heads, byte SectorsPerTrack)
{
    public const long MaxSectors = 65535L * 16 * 255;

    /// <summary>The size the geometry describes; old tools (Virtual PC, qemu before force_size) took this as the disk size.</summary>
    public long Bytes => (long)Cylinders * Heads * SectorsPerTrack * 512;

    public bool IsMaximum => Cylinders == 65535 && Heads == 16 && SectorsPerTrack == 255;

    public static VhdGeometry FromSize(long bytes)
    {
        long totalSectors = Math.Min(bytes / 512, MaxSectors);
        long sectorsPerTrack;
        long heads;
        long cylinderTimesHeads;
        if (totalSectors >= 65535L * 16 * 63)
        {
            sectorsPerTrack = 255;
            heads = 16;
            cylinderTimesHeads = totalSectors / sectorsPerTrack;
        }
        else
        {
            sectorsPerTrack = 17;
            cylinderTimesHeads = totalSectors / sectorsPerTrack;
            heads = (cylinderTimesHeads + 1023) / 1024;
            if (heads < 4)
            {
                heads = 4;
            }
            if (cylinderTimesHeads >= heads * 1024 || heads > 16)
            {
                sectorsPerTrack = 31;
                heads = 16;
                cylinderTimesHeads = totalSectors / sectorsPerTrack;
            }
            if (cylinderTimesHeads >= heads * 1024)
            {
                sectorsPerTrack = 63;
                heads = 16;
                cylinderTimesHeads = totalSectors / sectorsPerTrack;
            }
        }
        return new VhdGeometry((ushort)(cylinderTimesHeads / heads), (byte)heads, (byte)sectorsPerTrack);
    }
}
