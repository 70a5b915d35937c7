using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems;

/// <summary>What a node is, as the guest kernel's <c>lstat</c> would say.</summary>
public enum FileSystemNodeKind
{
    File,
    Directory,
    Symlink,
    Other,
}

/// <summary>The metadata of one node (inode) that guest configuration needs.</summary>
public readonly record struct FileSystemNodeInfo(ulong Node, FileSystemNodeKind Kind, long Size, int Mode, int Uid, int Gid, int Links);

/// <summary>One directory entry ("." and ".." are never listed).</summary>
public readonly record struct FileSystemDirectoryEntry(string Name, ulong Node, FileSystemNodeKind Kind);

/// <summary>Space on the file system, in bytes.</summary>
public readonly record struct FileSystemSpace(long TotalBytes, long FreeBytes);

/// <summary>
/// One mounted file system (ext2/3/4, XFS, btrfs subvolume, FAT), addressed by node numbers the
/// file system chooses (inode numbers where it has them; FAT makes its own). GuestMounts resolves
/// guest paths over these; nothing above this seam knows which file system it talks to.
/// Damage and unsupported structures are <c>LinuxImageException</c>s with LIMG03xx codes; a name
/// that does not exist is a <see cref="FileNotFoundException"/>, a wrong node kind an <see cref="IOException"/>.
/// Writes go to the volume the file system was opened on (a copy-on-write overlay in the pipeline).
/// </summary>
public interface IFileSystem
{
    /// <summary>The fstab type name: ext4, xfs, btrfs, vfat.</summary>
    string TypeName { get; }

    ulong RootNode { get; }

    /// <summary>Timestamps of changed nodes come from here (SOURCE_DATE_EPOCH in reproducible builds).</summary>
    Func<DateTimeOffset> Clock { get; set; }

    /// <summary>Null when this file system can be written; otherwise why not (features, damage, read-only volume).</summary>
    string? WriteRefusal { get; }

    FileSystemNodeInfo Stat(ulong node);

    /// <summary>The node a name in a directory names, or null.</summary>
    ulong? Lookup(ulong directory, string name);

    IReadOnlyList<FileSystemDirectoryEntry> ListDirectory(ulong directory);

    byte[] ReadFile(ulong node);

    string ReadSymlink(ulong node);

    IReadOnlyDictionary<string, byte[]> ReadXattrs(ulong node);

    FileSystemSpace Space { get; }

    /// <summary>Replaces the contents of a regular file; owner, mode and xattrs stay.</summary>
    void ReplaceContent(ulong node, ReadOnlySpan<byte> content);

    ulong CreateFile(ulong directory, string name, ReadOnlySpan<byte> content, int mode, int uid, int gid);

    ulong CreateDirectory(ulong directory, string name, int mode, int uid, int gid);

    ulong CreateSymlink(ulong directory, string name, string target, int uid, int gid);

    /// <summary>Removes a file, a symbolic link or an empty directory.</summary>
    void Delete(ulong directory, string name);

    /// <summary>Renames within the file system, replacing a non-directory target.</summary>
    void Rename(ulong fromDirectory, string fromName, ulong toDirectory, string toName);

    void SetMode(ulong node, int permissions);

    /// <summary>
    /// Adds or replaces one extended attribute, named with its namespace (<c>security.selinux</c>,
    /// <c>user.x</c>, <c>trusted.x</c>), and changes the node's ctime. What the file system cannot
    /// store there is refused with LIMG0332 and nothing written.
    /// </summary>
    void SetXattr(ulong node, string name, ReadOnlySpan<byte> value);

    /// <summary>Removes one extended attribute; an absent one is no change. Refused as <see cref="SetXattr"/> is.</summary>
    void RemoveXattr(ulong node, string name);
}

/// <summary>
/// Recognises one kind of file system on a volume (as <c>IDiskFormatReader</c> does for disk
/// formats). Adding a file system is a folder under FileSystems/ and one line in
/// FileSystemTypes.All.
/// </summary>
public interface IFileSystemType
{
    /// <summary>fstab type names this reader mounts (e.g. ext2, ext3, ext4).</summary>
    IReadOnlyList<string> FstabTypes { get; }

    /// <summary>Cheap check of the magic numbers; reads at most a few KiB.</summary>
    bool Probe(IReadableVolume volume);

    /// <summary>UUID and label for fstab matching, without opening the whole file system.</summary>
    (Guid? Uuid, string? Label) Identify(IReadableVolume volume);

    /// <summary>Opens the file system; <paramref name="options"/> are the fstab mount options (subvol=, ...).</summary>
    IFileSystem Open(IReadableVolume volume, string source, string options);

    /// <summary>
    /// True when one volume holds several trees, each mounted by its own options (btrfs subvolumes):
    /// fstab entries on the root's volume are then mounted too, and the root may be a tree other than
    /// the default one. Instances on one volume must then see each other's changes.
    /// </summary>
    bool HasSubtrees => false;

    /// <summary>
    /// With <see cref="HasSubtrees"/>: mount options for every other tree of an opened file system, in
    /// which to look for the guest's root when the default tree does not hold it (Fedora boots
    /// <c>subvol=root</c> from the kernel command line and keeps the top level as the default).
    /// </summary>
    IReadOnlyList<string> OtherTreeOptions(IFileSystem opened) => [];
}
