using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// The file-system seam over the ext engine. Explicit, so that the ext tests keep using inode
/// objects and 32-bit numbers while GuestMounts sees only <see cref="IFileSystem"/>.
/// </summary>
public sealed partial class Ext4FileSystem : IFileSystem
{
    string IFileSystem.TypeName => "ext4";

    ulong IFileSystem.RootNode => RootInode;

    FileSystemSpace IFileSystem.Space => new((long)Superblock.BlocksCount * BlockSize, (long)Superblock.FreeBlocksCount * BlockSize);

    internal static FileSystemNodeKind KindOf(Ext4Inode inode) =>
        inode.IsRegular ? FileSystemNodeKind.File : inode.IsDirectory ? FileSystemNodeKind.Directory : inode.IsSymlink ? FileSystemNodeKind.Symlink : FileSystemNodeKind.Other;

    private uint Number(ulong node) => node is > 0 and <= uint.MaxValue ? (uint)node : throw Damaged($"node number {node} is not an ext inode number");

    FileSystemNodeInfo IFileSystem.Stat(ulong node)
    {
        var inode = ReadInode(Number(node));
        return new FileSystemNodeInfo(node, KindOf(inode), inode.Size, inode.Mode & 0xFFF, inode.Uid, inode.Gid, inode.LinksCount);
    }

    ulong? IFileSystem.Lookup(ulong directory, string name)
    {
        var dir = ReadInode(Number(directory));
        if (!dir.IsDirectory)
        {
            throw new IOException($"inode {directory} is not a directory.");
        }
        uint found = Lookup(dir, name);
        return found == 0 ? null : found;
    }

    IReadOnlyList<FileSystemDirectoryEntry> IFileSystem.ListDirectory(ulong directory)
    {
        var dir = ReadInode(Number(directory));
        if (!dir.IsDirectory)
        {
            throw new IOException($"inode {directory} is not a directory.");
        }
        var result = new List<FileSystemDirectoryEntry>();
        foreach (var e in ReadDirectory(dir))
        {
            if (e.Name is "." or "..")
            {
                continue;
            }
            // Without the filetype feature the entry does not say; the inode does.
            var kind = DirectoryEntryType.Kind(e.FileType) ?? KindOf(ReadInode(e.Inode));
            result.Add(new FileSystemDirectoryEntry(e.Name, e.Inode, kind));
        }
        return result;
    }

    byte[] IFileSystem.ReadFile(ulong node)
    {
        var inode = ReadInode(Number(node));
        if (!inode.IsRegular)
        {
            throw new IOException($"inode {node} is not a regular file.");
        }
        return ReadData(inode);
    }

    string IFileSystem.ReadSymlink(ulong node)
    {
        var inode = ReadInode(Number(node));
        if (!inode.IsSymlink)
        {
            throw new IOException($"inode {node} is not a symbolic link.");
        }
        return ReadSymlink(inode);
    }

    IReadOnlyDictionary<string, byte[]> IFileSystem.ReadXattrs(ulong node) => ReadXattrs(ReadInode(Number(node)));

    void IFileSystem.ReplaceContent(ulong node, ReadOnlySpan<byte> content) => ReplaceContent(Number(node), content);

    ulong IFileSystem.CreateFile(ulong directory, string name, ReadOnlySpan<byte> content, int mode, int uid, int gid) =>
        CreateFile(Number(directory), name, content, mode, uid, gid);

    ulong IFileSystem.CreateDirectory(ulong directory, string name, int mode, int uid, int gid) =>
        CreateDirectory(Number(directory), name, mode, uid, gid);

    ulong IFileSystem.CreateSymlink(ulong directory, string name, string target, int uid, int gid) =>
        CreateSymlink(Number(directory), name, target, uid, gid);

    void IFileSystem.Delete(ulong directory, string name) => Delete(Number(directory), name);

    void IFileSystem.Rename(ulong fromDirectory, string fromName, ulong toDirectory, string toName) =>
        Rename(Number(fromDirectory), fromName, Number(toDirectory), toName);

    void IFileSystem.SetMode(ulong node, int permissions) => SetMode(Number(node), permissions);
}
