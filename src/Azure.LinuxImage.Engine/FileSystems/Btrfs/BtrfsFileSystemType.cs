using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>Recognises btrfs by the primary superblock's magic; one instance serves every volume.</summary>
public sealed class BtrfsFileSystemType : IFileSystemType
{
    public static readonly BtrfsFileSystemType Instance = new();

    public IReadOnlyList<string> FstabTypes { get; } = ["btrfs"];

    public bool Probe(IReadableVolume volume) => BtrfsSuperblock.Probe(volume);

    /// <summary>The fsid and label of a superblock that passes its checks; nothing for a damaged one.</summary>
    public (Guid? Uuid, string? Label) Identify(IReadableVolume volume)
    {
        var sb = BtrfsSuperblock.ReadAt(volume, BtrfsSuperblock.PrimaryOffset, string.Empty, out _);
        return sb is null ? (null, null) : (sb.FsId, sb.Label);
    }

    public IFileSystem Open(IReadableVolume volume, string source, string options) => BtrfsFileSystem.Open(volume, source, options);

    public bool HasSubtrees => true;

    public IReadOnlyList<string> OtherTreeOptions(IFileSystem opened)
    {
        var fs = (BtrfsFileSystem)opened;
        return [.. fs.SubvolumeIds().Where(id => id != fs.SubvolumeId).Select(id => $"subvolid={id}")];
    }
}
