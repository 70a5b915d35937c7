using System.Buffers.Binary;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Fat;

/// <summary>
/// The first FAT held in memory (its size was checked against the volume, so it is bounded by the
/// disk, not by an on-disk count), with the sectors changed since the last flush; a flush writes each
/// changed sector to every FAT copy so the copies stay equal, as fsck.vfat demands.
/// </summary>
internal sealed class FatTable
{
    public const uint Free = 0;

    private readonly FatBootSector boot;
    private readonly byte[] fat;
    private readonly SortedSet<int> dirtySectors = [];

    public FatTable(FatBootSector boot, IReadableVolume volume)
    {
        this.boot = boot;
        fat = new byte[boot.FatBytes];
        volume.ReadAt(boot.FatOffset, fat);
        uint free = 0;
        for (uint c = 2; c <= boot.ClusterCount + 1; c++)
        {
            if (Get(c) == Free)
            {
                free++;
            }
        }
        FreeCount = free;
    }

    public uint FreeCount { get; private set; }

    /// <summary>Smallest value that marks the end of a chain (FAT12 0xFF8, FAT16 0xFFF8, FAT32 0x0FFFFFF8).</summary>
    public uint EndOfChain => boot.Kind switch { FatKind.Fat12 => 0xFF8, FatKind.Fat16 => 0xFFF8, _ => 0x0FFFFFF8 };

    public uint BadCluster => EndOfChain - 1;

    /// <summary>The value written to end a chain (what mkfs.vfat and the kernel write).</summary>
    public uint EndMarker => boot.Kind switch { FatKind.Fat12 => 0xFFF, FatKind.Fat16 => 0xFFFF, _ => 0x0FFFFFFF };

    public bool IsData(uint cluster) => cluster >= 2 && cluster <= boot.ClusterCount + 1;

    public uint Get(uint cluster)
    {
        switch (boot.Kind)
        {
            case FatKind.Fat12:
            {
                int at = (int)(cluster + (cluster / 2));
                uint v = BinaryPrimitives.ReadUInt16LittleEndian(fat.AsSpan(at));
                return (cluster & 1) != 0 ? v >> 4 : v & 0xFFF;
            }
            case FatKind.Fat16:
                return BinaryPrimitives.ReadUInt16LittleEndian(fat.AsSpan((int)(cluster * 2)));
            default:
                return BinaryPrimitives.ReadUInt32LittleEndian(fat.AsSpan((int)(cluster * 4))) & 0x0FFFFFFF;
        }
    }

    public void Set(uint cluster, uint value)
    {
        bool wasFree = Get(cluster) == Free;
        int at;
        int width;
        switch (boot.Kind)
        {
            case FatKind.Fat12:
            {
                at = (int)(cluster + (cluster / 2));
                width = 2;
                uint v = BinaryPrimitives.ReadUInt16LittleEndian(fat.AsSpan(at));
                v = (cluster & 1) != 0 ? (v & 0x000Fu) | ((value & 0xFFFu) << 4) : (v & 0xF000u) | (value & 0xFFFu);
                BinaryPrimitives.WriteUInt16LittleEndian(fat.AsSpan(at), (ushort)v);
                break;
            }
            case FatKind.Fat16:
                at = (int)(cluster * 2);
                width = 2;
                BinaryPrimitives.WriteUInt16LittleEndian(fat.AsSpan(at), (ushort)value);
                break;
            default:
                at = (int)(cluster * 4);
                width = 4;
                // The top four bits are reserved and must be kept.
                uint old = BinaryPrimitives.ReadUInt32LittleEndian(fat.AsSpan(at));
                BinaryPrimitives.WriteUInt32LittleEndian(fat.AsSpan(at), (old & 0xF0000000) | (value & 0x0FFFFFFF));
                break;
        }
        dirtySectors.Add(at / boot.BytesPerSector);
        dirtySectors.Add((at + width - 1) / boot.BytesPerSector);
        bool isFree = value == Free;
        if (wasFree && !isFree)
        {
            FreeCount--;
        }
        else if (!wasFree && isFree)
        {
            FreeCount++;
        }
    }

    /// <summary>Null when every FAT copy equals the first; otherwise which one differs.</summary>
    public string? CompareCopies(IReadableVolume volume)
    {
        var other = new byte[Math.Min(fat.Length, 1 << 20)];
        for (int copy = 1; copy < boot.FatCount; copy++)
        {
            long start = boot.FatOffset + (copy * boot.FatBytes);
            for (long done = 0; done < fat.Length; done += other.Length)
            {
                int n = (int)Math.Min(other.Length, fat.Length - done);
                volume.ReadAt(start + done, other.AsSpan(0, n));
                if (!other.AsSpan(0, n).SequenceEqual(fat.AsSpan((int)done, n)))
                {
                    return $"FAT copy {copy + 1} differs from the first";
                }
            }
        }
        return null;
    }

    public void Flush(IWritableVolume volume)
    {
        int bps = boot.BytesPerSector;
        foreach (int sector in dirtySectors)
        {
            var data = fat.AsSpan(sector * bps, bps);
            for (int copy = 0; copy < boot.FatCount; copy++)
            {
                volume.WriteAt(boot.FatOffset + (copy * boot.FatBytes) + ((long)sector * bps), data);
            }
        }
        dirtySectors.Clear();
    }
}
