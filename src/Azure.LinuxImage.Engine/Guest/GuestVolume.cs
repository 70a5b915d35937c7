using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Engine.Partitions;
using Azure.LinuxImage.Engine.Volumes.Lvm;

namespace Azure.LinuxImage.Engine.Guest;

public enum GuestVolumeContent
{
    Unknown,
    Ext,
    Swap,
    LvmPhysicalVolume,
}

/// <summary>A volume on the disk (a partition, a logical volume, or the whole disk) and what it holds.</summary>
public sealed record GuestVolume(
    string Name,
    IReadableVolume Volume,
    Partition? Partition,
    LvmLogicalVolume? LogicalVolume,
    GuestVolumeContent Content,
    Guid? FileSystemUuid,
    string? FileSystemLabel)
{
    public bool IsLvm => LogicalVolume is not null;
}

/// <summary>A file system mounted into the guest tree.</summary>
public sealed record GuestMount(string MountPoint, GuestVolume Volume, FileSystems.Ext4.Ext4FileSystem FileSystem);
