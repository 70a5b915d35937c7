using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>ext2, ext3 and ext4: one engine, recognised by the superblock magic at 1 KiB.</summary>
public sealed class Ext4FileSystemType : IFileSystemType
{
    // The first name is what the volume is reported as.
    public IReadOnlyList<string> FstabTypes { get; } = ["ext4", "ext3", "ext2"];

    public bool Probe(IReadableVolume volume) => Ext4Superblock.Probe(volume);

    public (Guid? Uuid, string? Label) Identify(IReadableVolume volume)
    {
        if (volume.Length < Ext4Superblock.Offset + Ext4Superblock.Size)
        {
            return (null, null);
        }
        var sb = Ext4Superblock.TryParse(volume.ReadBytes(Ext4Superblock.Offset, Ext4Superblock.Size), out _);
        return (sb?.Uuid, sb?.Label);
    }

    public IFileSystem Open(IReadableVolume volume, string source, string options) => Ext4FileSystem.Open(volume, source);
}
