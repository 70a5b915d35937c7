using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Partitions;

/// <summary>Reads whatever partition table a disk has: GPT (behind a protective MBR), MBR, or none.</summary>
public static class PartitionTableReader
{
    public static PartitionTable Read(IReadableVolume disk, string source)
    {
        ArgumentNullException.ThrowIfNull(disk);
        if (disk.Length < 1024)
        {
            return new PartitionTable(PartitionScheme.None, [], null, []);
        }
        var sector0 = disk.ReadBytes(0, 512);
        int gptSector = GptPartitionTable.ProbeSectorSize(disk);
        if (MbrPartitionTable.IsProtective(sector0) || (gptSector != 0 && !MbrPartitionTable.HasSignature(sector0)))
        {
            return GptPartitionTable.Read(disk, source, gptSector == 0 ? 512 : gptSector);
        }
        if (MbrPartitionTable.HasSignature(sector0) && !LooksLikeFileSystemBootSector(disk))
        {
            return MbrPartitionTable.Read(disk, source);
        }
        return new PartitionTable(PartitionScheme.None, [], null, []);
    }

    // A whole-disk file system can end with 0x55AA by chance; its superblock magic settles it.
    private static bool LooksLikeFileSystemBootSector(IReadableVolume disk) =>
        FileSystems.FileSystemTypes.Probe(disk) is not null && disk.ReadBytes(446, 64).All(b => b == 0);

    /// <summary>A partition as a volume (writable when the disk is, e.g. an overlay).</summary>
    public static VolumeSlice Open(IReadableVolume disk, Partition partition) => new(disk, partition.Offset, partition.Length);
}
