using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>The file-system seam over the XFS reader; every change is refused (LIMG0342) before anything is written.</summary>
public sealed partial class XfsFileSystem : IFileSystem
{
    public const string NotWritten = "changing XFS (the writer is not implemented; the file system is only read)";

    public string TypeName => "xfs";

    public ulong RootNode => Superblock.RootInode;

    public string? WriteRefusal => NotWritten;

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
            var kind = e.FileType switch
            {
                XfsDirEntry.TypeFile => FileSystemNodeKind.File,
                XfsDirEntry.TypeDirectory => FileSystemNodeKind.Directory,
                XfsDirEntry.TypeSymlink => FileSystemNodeKind.Symlink,
                XfsDirEntry.TypeUnknown => KindOf(ReadInode(e.Inode)),
                _ => FileSystemNodeKind.Other,
            };
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

    private LinuxImageException Refused() => new(DiagnosticCatalog.XfsUnsupportedFeature, Source, Source, "write", NotWritten);

    public void ReplaceContent(ulong node, ReadOnlySpan<byte> content) => throw Refused();

    public ulong CreateFile(ulong directory, string name, ReadOnlySpan<byte> content, int mode, int uid, int gid) => throw Refused();

    public ulong CreateDirectory(ulong directory, string name, int mode, int uid, int gid) => throw Refused();

    public ulong CreateSymlink(ulong directory, string name, string target, int uid, int gid) => throw Refused();

    public void Delete(ulong directory, string name) => throw Refused();

    public void Rename(ulong fromDirectory, string fromName, ulong toDirectory, string toName) => throw Refused();

    public void SetMode(ulong node, int permissions) => throw Refused();
}
