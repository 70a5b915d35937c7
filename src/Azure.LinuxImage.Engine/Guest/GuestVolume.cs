using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Engine.Partitions;
using Azure.LinuxImage.Engine.Volumes.Lvm;

namespace Azure.LinuxImage.Engine.Guest;

public enum GuestVolumeContent
{
    Unknown,

    /// <summary>A file system one of <see cref="FileSystemTypes.All"/> recognises.</summary>
    FileSystem,
    Swap,
    LvmPhysicalVolume,
}

/// <summary>
/// A volume on the disk (a partition, a logical volume, or the whole disk) and what it holds;
/// <paramref name="FileSystemType"/> is the recogniser of its file system, when it has one.
/// </summary>
public sealed record GuestVolume(
    string Name,
    IReadableVolume Volume,
    Partition? Partition,
    LvmLogicalVolume? LogicalVolume,
    GuestVolumeContent Content,
    Guid? FileSystemUuid,
    string? FileSystemLabel,
    IFileSystemType? FileSystemType = null)
{
    public bool IsLvm => LogicalVolume is not null;

    /// <summary>The fstab type name of the file system on the volume (ext4, xfs, ...), or null.</summary>
    public string? FstabType => FileSystemType?.FstabTypes[0];
}

/// <summary>A file system mounted into the guest tree; <paramref name="FstabType"/> is the type its fstab line names (the volume's own type for the root).</summary>
public sealed record GuestMount(string MountPoint, GuestVolume Volume, IFileSystem FileSystem, string FstabType);
