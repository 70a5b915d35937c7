namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>One directory entry; <see cref="FileType"/> is the XFS_DIR3_FT_* value, 0 without the ftype feature.</summary>
public sealed record XfsDirEntry(string Name, ulong Inode, byte FileType)
{
    public const byte TypeUnknown = 0, TypeFile = 1, TypeDirectory = 2, TypeSymlink = 7;
}
