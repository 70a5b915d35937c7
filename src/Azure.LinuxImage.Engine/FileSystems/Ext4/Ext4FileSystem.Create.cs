using System.Buffers.Binary;
using System.Text;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>New inodes: files, directories and symbolic links (lib/ext2fs newdir.c, mkdir.c, symlink.c).</summary>
public sealed partial class Ext4FileSystem
{
    private Ext4Inode NewInode(uint number, int mode, int uid, int gid)
    {
        var inode = new Ext4Inode(number, new byte[Superblock.InodeSize]);
        inode.Mode = mode;
        inode.Uid = uid;
        inode.Gid = gid;
        inode.LinksCount = 1;
        // A generation that differs per inode without randomness keeps builds reproducible.
        inode.Generation = number * 2654435761u;
        if (Superblock.InodeSize > 128)
        {
            int extra = Math.Min(Math.Max((int)Superblock.WantExtraInodeSize, 32), Superblock.InodeSize - 128);
            BinaryPrimitives.WriteUInt16LittleEndian(inode.Raw.AsSpan(0x80), (ushort)extra);
        }
        var now = Clock();
        inode.SetTime(Ext4Inode.TimeField.Access, now);
        inode.SetTime(Ext4Inode.TimeField.Change, now);
        inode.SetTime(Ext4Inode.TimeField.Modify, now);
        inode.SetTime(Ext4Inode.TimeField.Create, now);
        if (Superblock.HasExtents && (mode & Ext4Inode.ModeTypeMask) != Ext4Inode.ModeSymlink)
        {
            inode.Flags = Ext4Inode.FlagExtents;
            Ext4Extents.Build(this, inode, [], []);
        }
        return inode;
    }

    private Ext4Inode ReadDirectoryInode(uint number)
    {
        var dir = ReadInode(number);
        if (!dir.IsDirectory)
        {
            throw new InvalidOperationException($"Inode {number} is not a directory.");
        }
        return dir;
    }

    /// <summary>Creates a regular file in a directory and returns its inode number.</summary>
    public uint CreateFile(uint parent, string name, ReadOnlySpan<byte> content, int mode, int uid = 0, int gid = 0)
    {
        byte[] nameBytes = NameBytes(name);
        byte[] copy = content.ToArray();
        return Change(() =>
        {
            var dir = ReadDirectoryInode(parent);
            RefuseInline(dir, "the parent directory");
            EnsureAbsent(dir, name);
            uint number = AllocateInode(false, parent, name);
            var inode = NewInode(number, Ext4Inode.ModeFile | (mode & 0xFFF), uid, gid);
            StoreData(inode, copy, GoalForInode(number), name);
            WriteInode(inode);
            AddEntry(dir, nameBytes, number, Ext4Directory.TypeFile);
            return number;
        });
    }

    public uint CreateDirectory(uint parent, string name, int mode, int uid = 0, int gid = 0)
    {
        byte[] nameBytes = NameBytes(name);
        return Change(() =>
        {
            var dir = ReadDirectoryInode(parent);
            RefuseInline(dir, "the parent directory");
            EnsureAbsent(dir, name);
            uint number = AllocateInode(true, parent, name);
            var inode = NewInode(number, Ext4Inode.ModeDirectory | (mode & 0xFFF), uid, gid);
            inode.LinksCount = 2;
            var block = new byte[BlockSize];
            int usable = UsableDirectoryBytes;
            Ext4Directory.WriteEntry(block, 0, 12, number, "."u8, Ext4Directory.TypeDirectory, Superblock.HasFiletype);
            Ext4Directory.WriteEntry(block, 12, usable - 12, parent, ".."u8, Ext4Directory.TypeDirectory, Superblock.HasFiletype);
            FinishDirectoryBlock(inode, block);
            var allocated = AllocateBlocks(1, GoalForInode(number), name);
            ((IO.IWritableVolume)io).WriteAt((long)allocated[0].Start * BlockSize, block);
            SetMapping(inode, [new Ext4Run(0, allocated[0].Start, 1)], allocated[0].Start, name);
            inode.Size = BlockSize;
            WriteInode(inode);
            AddEntry(dir, nameBytes, number, Ext4Directory.TypeDirectory);
            dir = ReadInode(parent);
            IncrementLinks(dir);
            WriteInode(dir);
            return number;
        });
    }

    public uint CreateSymlink(uint parent, string name, string target, int uid = 0, int gid = 0)
    {
        byte[] nameBytes = NameBytes(name);
        byte[] targetBytes = Encoding.UTF8.GetBytes(target);
        if (targetBytes.Length == 0 || targetBytes.Length >= BlockSize)
        {
            throw new ArgumentException($"The symbolic link target '{target}' is empty or longer than a block.", nameof(target));
        }
        return Change(() =>
        {
            var dir = ReadDirectoryInode(parent);
            RefuseInline(dir, "the parent directory");
            EnsureAbsent(dir, name);
            uint number = AllocateInode(false, parent, name);
            var inode = NewInode(number, Ext4Inode.ModeSymlink | 0x1FF, uid, gid);
            if (targetBytes.Length < Ext4Inode.BlockArraySize)
            {
                targetBytes.CopyTo(inode.BlockArray);
                inode.Size = targetBytes.Length;
            }
            else
            {
                if (Superblock.HasExtents)
                {
                    inode.Flags = Ext4Inode.FlagExtents;
                }
                StoreData(inode, targetBytes, GoalForInode(number), name);
            }
            WriteInode(inode);
            AddEntry(dir, nameBytes, number, Ext4Directory.TypeSymlink);
            return number;
        });
    }
}
