using Azure.LinuxImage.Engine.FileSystems.Btrfs;
using Azure.LinuxImage.Engine.FileSystems.Ext4;
using Azure.LinuxImage.Engine.FileSystems.Fat;
using Azure.LinuxImage.Engine.FileSystems.Xfs;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems;

/// <summary>The one place file systems are recognised: a file system is a folder under FileSystems/ and a line here.</summary>
public static class FileSystemTypes
{
    public static IReadOnlyList<IFileSystemType> All { get; } =
    [
        new Ext4FileSystemType(),
        new XfsFileSystemType(),
        new BtrfsFileSystemType(),
        new FatFileSystemType(),
    ];

    /// <summary>The type whose magic numbers a volume carries, or null.</summary>
    public static IFileSystemType? Probe(IReadableVolume volume) => All.FirstOrDefault(t => t.Probe(volume));

    /// <summary>The type an fstab type name (ext4, xfs, ...) belongs to, or null.</summary>
    public static IFileSystemType? ForFstabType(string type) => All.FirstOrDefault(t => t.FstabTypes.Contains(type, StringComparer.Ordinal));
}
