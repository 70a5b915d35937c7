using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// Hashed (htree) directories. Lookups never need the index (every leaf is an ordinary directory
/// block, so a linear scan finds every name). Removing a name keeps the index valid. Adding a name
/// turns the directory back into a linear one — what e2fsprogs itself does when it cannot keep an
/// index — because placing a name in the wrong leaf would corrupt the index: the root block keeps
/// "." and "..", every index node becomes an empty directory block, and the index flag is cleared.
/// The kernel (and e2fsck -D) rebuild an index later if they want one.
/// </summary>
internal static class Ext4HashTree
{
    public static void RemoveIndex(Ext4FileSystem fs, Ext4Inode dir)
    {
        bool csum = fs.Superblock.HasMetadataCsum;
        bool ft = fs.Superblock.HasFiletype;
        int bs = fs.BlockSize;
        int usable = csum ? bs - Ext4Directory.TailSize : bs;
        var (runs, _) = fs.MapFile(dir);
        long blocks = (dir.Size + bs - 1) / bs;
        foreach (var run in runs)
        {
            for (uint i = 0; i < run.Length && run.Logical + i < blocks; i++)
            {
                ulong physical = run.Physical + i;
                byte[] block = fs.ReadBlock(physical);
                if (run.Logical + i == 0)
                {
                    uint self = BinaryPrimitives.ReadUInt32LittleEndian(block);
                    uint parent = BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(12));
                    if (self != dir.Number || BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(4)) != 12)
                    {
                        throw fs.Damaged($"hashed directory inode {dir.Number} has a root block without '.'");
                    }
                    Array.Clear(block);
                    Ext4Directory.WriteEntry(block, 0, 12, self, "."u8, Ext4Directory.TypeDirectory, ft);
                    Ext4Directory.WriteEntry(block, 12, usable - 12, parent, ".."u8, Ext4Directory.TypeDirectory, ft);
                }
                else if (BinaryPrimitives.ReadUInt32LittleEndian(block) == 0 && BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(4)) == bs % 65536)
                {
                    Array.Clear(block);
                    BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(4), (ushort)(usable % 65536));
                }
                else
                {
                    continue;
                }
                if (csum)
                {
                    Ext4Directory.WriteTail(block);
                    fs.SetDirectoryBlockChecksum(dir, block);
                }
                fs.WriteBlock(physical, block);
            }
        }
        dir.Flags &= ~Ext4Inode.FlagIndex;
        fs.WriteInode(dir);
    }
}
