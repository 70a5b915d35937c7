using System.Buffers.Binary;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>Reading and writing inodes in the inode tables, with their checksums (lib/ext2fs inode.c).</summary>
public sealed partial class Ext4FileSystem
{
    private long InodeOffset(uint number)
    {
        if (number == 0 || number > Superblock.InodesCount)
        {
            throw Damaged($"inode number {number} is outside 1..{Superblock.InodesCount}");
        }
        uint group = (number - 1) / Superblock.InodesPerGroup;
        uint index = (number - 1) % Superblock.InodesPerGroup;
        return checked(((long)groups.InodeTable(group) * BlockSize) + ((long)index * Superblock.InodeSize));
    }

    public Ext4Inode ReadInode(uint number)
    {
        var raw = io.ReadBytes(InodeOffset(number), Superblock.InodeSize);
        var inode = new Ext4Inode(number, raw);
        if (Superblock.HasMetadataCsum && inode.LinksCount != 0 && InodeChecksum(inode) is var (lo, hi) &&
            (BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(0x7C)) != lo || (hi is ushort h && BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(0x82)) != h)))
        {
            throw Damaged($"inode {number} fails its checksum");
        }
        if (inode.LinksCount != 0 && inode.ExtraSize != 0 && (inode.ExtraSize < 4 || 128 + inode.ExtraSize > raw.Length || inode.ExtraSize % 4 != 0))
        {
            throw Damaged($"inode {number} has an invalid extra size {inode.ExtraSize}");
        }
        return inode;
    }

    internal uint InodeSeed(Ext4Inode inode)
    {
        uint c = Crc32C.Update(csumSeed, inode.Number);
        return Crc32C.Update(c, inode.Generation);
    }

    private (ushort Lo, ushort? Hi) InodeChecksum(Ext4Inode inode)
    {
        bool hasHi = inode.Raw.Length > 128 && inode.ExtraSize >= 4;
        var copy = (byte[])inode.Raw.Clone();
        copy[0x7C] = copy[0x7D] = 0;
        if (hasHi)
        {
            copy[0x82] = copy[0x83] = 0;
        }
        uint c = Crc32C.Update(InodeSeed(inode), copy);
        return ((ushort)c, hasHi ? (ushort)(c >> 16) : null);
    }

    internal void WriteInode(Ext4Inode inode)
    {
        if (Superblock.HasMetadataCsum)
        {
            var (lo, hi) = InodeChecksum(inode);
            BinaryPrimitives.WriteUInt16LittleEndian(inode.Raw.AsSpan(0x7C), lo);
            if (hi is ushort h)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(inode.Raw.AsSpan(0x82), h);
            }
        }
        ((IWritableVolume)io).WriteAt(InodeOffset(inode.Number), inode.Raw);
    }
}
