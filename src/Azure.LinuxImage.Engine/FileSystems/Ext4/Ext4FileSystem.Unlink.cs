using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>Removing names and freeing inodes at their last link (lib/ext2fs unlink.c).</summary>
public sealed partial class Ext4FileSystem
{
    /// <summary>Removes a name: a file or symlink (freeing it at its last link) or an empty directory.</summary>
    public void Delete(uint parent, string name)
    {
        byte[] nameBytes = NameBytes(name);
        Change(() =>
        {
            var dir = ReadDirectoryInode(parent);
            RefuseInline(dir, "the parent directory");
            uint number = Lookup(dir, name);
            if (number == 0)
            {
                throw new LinuxImageException(DiagnosticCatalog.GuestPathNotFound, Source, Source, name);
            }
            var inode = ReadInode(number);
            if (inode.IsDirectory)
            {
                EnsureEmptyDirectory(inode, name);
            }
            RemoveEntry(dir, nameBytes);
            Unlink(inode, parent);
            return 0;
        });
    }

    private void Unlink(Ext4Inode inode, uint parent)
    {
        if (inode.IsDirectory)
        {
            var dir = ReadInode(parent);
            if (dir.LinksCount > 2)
            {
                dir.LinksCount--;
            }
            Touch(dir, modify: true);
            WriteInode(dir);
            inode.LinksCount = 0;
        }
        else
        {
            inode.LinksCount = (ushort)Math.Max(0, inode.LinksCount - 1);
        }
        Touch(inode, modify: false);
        if (inode.LinksCount > 0)
        {
            WriteInode(inode);
            return;
        }
        if ((inode.Flags & Ext4Inode.FlagEaInode) != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4UnsupportedFeature, Source, Source, "write", "deleting an inode that holds an extended attribute value");
        }
        var (runs, mapBlocks) = MapFile(inode);
        ReleaseBlocks(runs, mapBlocks);
        ReleaseXattrBlock(inode);
        inode.Size = 0;
        inode.BlocksRaw = 0;
        if ((inode.Flags & Ext4Inode.FlagExtents) != 0)
        {
            Ext4Extents.Build(this, inode, [], []);
        }
        else
        {
            inode.BlockArray.Clear();
        }
        inode.DeletionTime = (uint)Clock().ToUnixTimeSeconds();
        WriteInode(inode);
        FreeInode(inode.Number, inode.IsDirectory);
    }

    private void ReleaseXattrBlock(Ext4Inode inode)
    {
        ulong block = inode.FileAcl;
        if (block == 0)
        {
            return;
        }
        CheckBlockRange(block, 1, inode.Number);
        byte[] data = ReadBlock(block);
        if (BinaryPrimitives.ReadUInt32LittleEndian(data) != Ext4Xattr.Magic)
        {
            throw Damaged($"inode {inode.Number} has an extended attribute block {block} without the attribute magic");
        }
        uint refs = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(4));
        if (refs > 1)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(4), refs - 1);
            if (Superblock.HasMetadataCsum)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(0x10), XattrBlockChecksum(block, data));
            }
            WriteBlock(block, data);
        }
        else
        {
            FreeBlocks(block, 1);
        }
        inode.FileAcl = 0;
    }
}
