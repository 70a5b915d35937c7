namespace Azure.LinuxImage.Engine.FileSystems;

/// <summary>
/// The file type byte that ext2/3/4 (filetype feature) and XFS (ftype) store in directory entries:
/// the same numbering on both, so one mapping serves them.
/// </summary>
public static class DirectoryEntryType
{
    public const byte Unknown = 0, File = 1, Directory = 2, Symlink = 7;

    /// <summary>What the entry says its node is; null when it does not say (no file type stored) and the inode must.</summary>
    public static FileSystemNodeKind? Kind(byte type) => type switch
    {
        File => FileSystemNodeKind.File,
        Directory => FileSystemNodeKind.Directory,
        Symlink => FileSystemNodeKind.Symlink,
        Unknown => null,
        _ => FileSystemNodeKind.Other,
    };
}
