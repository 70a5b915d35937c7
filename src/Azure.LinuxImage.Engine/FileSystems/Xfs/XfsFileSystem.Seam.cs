using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// The file-system seam over the XFS reader and writer. What the writer does not implement is
/// refused (LIMG0342) before anything is written; see docs/xfs-engine.md.
/// </summary>
public sealed partial class XfsFileSystem : IFileSystem
{
    public string TypeName => "xfs";

    public ulong RootNode => Superblock.RootInode;

    public string? WriteRefusal => volume is IO.IWritableVolume ? null : "the volume is read-only";

    public FileSystemSpace Space => new((long)Superblock.DataBlocks * Superblock.BlockSize, (long)Superblock.FreeDataBlocks * Superblock.BlockSize);

    private static FileSystemNodeKind KindOf(XfsInode inode) =>
        inode.IsRegular ? FileSystemNodeKind.File : inode.IsDirectory ? FileSystemNodeKind.Directory : inode.IsSymlink ? FileSystemNodeKind.Symlink : FileSystemNodeKind.Other;

    public FileSystemNodeInfo Stat(ulong node)
    {
        var inode = ReadInode(node);
        return new FileSystemNodeInfo(node, KindOf(inode), inode.Size, inode.Mode & 0xFFF, inode.Uid, inode.Gid, (int)Math.Min(inode.Links, int.MaxValue));
    }

    public ulong? Lookup(ulong directory, string name)
    {
        var entries = ReadDirectory(ReadInode(directory));
        if (name == ".")
        {
            return directory;
        }
        foreach (var e in entries)
        {
            if (e.Name == name)
            {
                return e.Inode;
            }
        }
        return null;
    }

    public IReadOnlyList<FileSystemDirectoryEntry> ListDirectory(ulong directory)
    {
        var result = new List<FileSystemDirectoryEntry>();
        foreach (var e in ReadDirectory(ReadInode(directory)))
        {
            if (e.Name == "..")
            {
                continue;
            }
            // Without ftype (v4) the entry does not say; the inode does.
            var kind = DirectoryEntryType.Kind(e.FileType) ?? KindOf(ReadInode(e.Inode));
            result.Add(new FileSystemDirectoryEntry(e.Name, e.Inode, kind));
        }
        return result;
    }

    public byte[] ReadFile(ulong node)
    {
        var inode = ReadInode(node);
        if (!inode.IsRegular)
        {
            throw new IOException($"inode {node} is not a regular file.");
        }
        return ReadData(inode);
    }

    public string ReadSymlink(ulong node)
    {
        var inode = ReadInode(node);
        if (!inode.IsSymlink)
        {
            throw new IOException($"inode {node} is not a symbolic link.");
        }
        return ReadSymlink(inode);
    }

    public IReadOnlyDictionary<string, byte[]> ReadXattrs(ulong node) => ReadXattrs(ReadInode(node));

    internal LinuxImageException Refused(string why) => new(DiagnosticCatalog.XfsUnsupportedFeature, Source, Source, "write", why);
}
