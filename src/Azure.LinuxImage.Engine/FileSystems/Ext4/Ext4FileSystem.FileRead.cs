using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>File bodies, symbolic links and extended attributes read (lib/ext2fs fileio.c, bmap.c, symlink.c).</summary>
public sealed partial class Ext4FileSystem
{
    /// <summary>The data runs of a file, and the blocks of its mapping (extent tree or indirect blocks).</summary>
    public (List<Ext4Run> Runs, List<ulong> MapBlocks) MapFile(Ext4Inode inode)
    {
        var runs = new List<Ext4Run>();
        var meta = new List<ulong>();
        if ((inode.Flags & Ext4Inode.FlagInlineData) != 0 || IsFastSymlink(inode))
        {
            return (runs, meta);
        }
        if ((inode.Flags & Ext4Inode.FlagExtents) != 0)
        {
            Ext4Extents.Map(this, inode, runs, meta);
        }
        else
        {
            Ext4BlockMap.Map(this, inode, runs, meta);
        }
        return (runs, meta);
    }

    internal bool IsFastSymlink(Ext4Inode inode)
    {
        if (!inode.IsSymlink || (inode.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            return false;
        }
        ulong eaBlocks = inode.FileAcl != 0 ? (ulong)(BlockSize / 512) : 0;
        return inode.Size < Ext4Inode.BlockArraySize && inode.BlocksRaw - eaBlocks == 0;
    }

    /// <summary>Reads a whole file, symlink or directory body; holes and unwritten extents read as zeros.</summary>
    public byte[] ReadData(Ext4Inode inode)
    {
        long size = inode.Size;
        if (size < 0 || size > Array.MaxLength)
        {
            throw new LinuxImageException(DiagnosticCatalog.GuestPathInvalid, Source, Source, $"inode {inode.Number}", $"its size {size} is too large to read into memory");
        }
        if ((ulong)size > Superblock.BlocksCount * (ulong)BlockSize && (inode.Flags & Ext4Inode.FlagInlineData) == 0)
        {
            // A sparse file may legitimately be larger than the file system, but nothing we patch is.
            throw new LinuxImageException(DiagnosticCatalog.GuestPathInvalid, Source, Source, $"inode {inode.Number}", $"its size {size} exceeds the file system");
        }
        if ((inode.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            return ReadInline(inode, (int)size);
        }
        if (IsFastSymlink(inode))
        {
            return inode.BlockArray[..(int)size].ToArray();
        }
        var data = new byte[size];
        var (runs, _) = MapFile(inode);
        foreach (var run in runs)
        {
            if (run.Uninitialized)
            {
                continue;
            }
            long start = (long)run.Logical * BlockSize;
            if (start >= size)
            {
                break;
            }
            int n = (int)Math.Min((long)run.Length * BlockSize, size - start);
            io.ReadAt((long)run.Physical * BlockSize, data.AsSpan((int)start, n));
        }
        return data;
    }

    private byte[] ReadInline(Ext4Inode inode, int size)
    {
        byte[] tail = Ext4Xattr.InlineDataTail(this, inode) ?? [];
        if (size > Ext4Inode.BlockArraySize + tail.Length)
        {
            throw Damaged($"inode {inode.Number} claims {size} bytes of inline data but stores {Ext4Inode.BlockArraySize + tail.Length}");
        }
        var data = new byte[size];
        int head = Math.Min(size, Ext4Inode.BlockArraySize);
        inode.BlockArray[..head].CopyTo(data);
        tail.AsSpan(0, size - head).CopyTo(data.AsSpan(head));
        return data;
    }

    public string ReadSymlink(Ext4Inode inode)
    {
        if (!inode.IsSymlink)
        {
            throw new InvalidOperationException($"Inode {inode.Number} is not a symbolic link.");
        }
        if (inode.Size > 4096)
        {
            throw Damaged($"symbolic link inode {inode.Number} has a target of {inode.Size} bytes");
        }
        return Encoding.UTF8.GetString(ReadData(inode));
    }

    public IReadOnlyDictionary<string, byte[]> ReadXattrs(Ext4Inode inode) => Ext4Xattr.Read(this, inode);
}
