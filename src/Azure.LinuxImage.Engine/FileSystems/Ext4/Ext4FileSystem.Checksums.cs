using System.Buffers.Binary;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>metadata_csum checksums of extent, directory and xattr blocks (lib/ext2fs csum.c).</summary>
public sealed partial class Ext4FileSystem
{
    internal void VerifyExtentBlockChecksum(Ext4Inode inode, byte[] block, ulong physical)
    {
        if (!Superblock.HasMetadataCsum)
        {
            return;
        }
        int max = BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(4));
        int tail = 12 + (max * 12);
        if (tail + 4 > block.Length || BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(tail)) != Crc32C.Update(InodeSeed(inode), block.AsSpan(0, tail)))
        {
            throw Damaged($"inode {inode.Number} has an extent block {physical} that fails its checksum");
        }
    }

    internal void VerifyDirectoryBlockChecksum(Ext4Inode dir, byte[] block, ulong physical)
    {
        if (Superblock.HasMetadataCsum && Ext4Directory.HasTail(block) &&
            BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(BlockSize - 4)) != Crc32C.Update(InodeSeed(dir), block.AsSpan(0, BlockSize - Ext4Directory.TailSize)))
        {
            throw Damaged($"directory inode {dir.Number} has a block {physical} that fails its checksum");
        }
    }

    internal uint XattrBlockChecksum(ulong physical, byte[] block)
    {
        Span<byte> le = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(le, physical);
        var copy = (byte[])block.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(0x10), 0);
        return Crc32C.Update(Crc32C.Update(csumSeed, le), copy);
    }

    internal void SetExtentBlockChecksum(Ext4Inode inode, byte[] block)
    {
        if (!Superblock.HasMetadataCsum)
        {
            return;
        }
        int max = BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(4));
        int tail = 12 + (max * 12);
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(tail), Crc32C.Update(InodeSeed(inode), block.AsSpan(0, tail)));
    }

    internal void SetDirectoryBlockChecksum(Ext4Inode dir, byte[] block)
    {
        if (!Superblock.HasMetadataCsum)
        {
            return;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(BlockSize - 4), Crc32C.Update(InodeSeed(dir), block.AsSpan(0, BlockSize - Ext4Directory.TailSize)));
    }
}
