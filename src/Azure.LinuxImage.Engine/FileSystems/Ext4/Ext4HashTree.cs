using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// Hashed (htree) directories. Lookups never need the index (every leaf is an ordinary directory
/// block, so a linear scan finds every name). Removing a name keeps the index valid. Adding a name
/// hashes it, walks the index to the leaf that owns that hash (as the kernel's dx_probe does) and
/// puts it there when the leaf has room, so the index stays valid. When that leaf is full we do not
/// split leaves: the directory is turned back into a linear one instead — the root block keeps "."
/// and "..", every index node becomes an empty directory block, and the index flag is cleared —
/// which e2fsck accepts and the kernel (or e2fsck -D) can index again later.
/// </summary>
internal static class Ext4HashTree
{
    /// <summary>
    /// The physical block of the leaf the index assigns to <paramref name="name"/> (the kernel's
    /// dx_probe), or null when the index uses a hash this engine does not compute.
    /// </summary>
    public static ulong? FindLeaf(Ext4FileSystem fs, Ext4Inode dir, List<Ext4Run> runs, ReadOnlySpan<byte> name)
    {
        var sb = fs.Superblock;
        bool csum = sb.HasMetadataCsum;
        int bs = fs.BlockSize;
        byte[] root = fs.ReadBlock(Physical(fs, dir, runs, 0));
        int hashVersion = root[0x1C];
        int infoLength = root[0x1D];
        int levels = root[0x1E];
        int maxLevels = (sb.FeatureIncompat & Ext4Superblock.IncompatLargeDir) != 0 ? 3 : 2;
        if (BinaryPrimitives.ReadUInt32LittleEndian(root.AsSpan(0x18)) != 0 || infoLength != 8 || levels >= maxLevels)
        {
            throw fs.Damaged($"hashed directory inode {dir.Number} has an invalid index root");
        }
        if (!Ext4DirectoryHash.IsSupported(hashVersion))
        {
            return null;
        }
        if (hashVersion <= Ext4DirectoryHash.Tea && (sb.Flags & 0x2) != 0)
        {
            hashVersion += 3;
        }
        uint hash = Ext4DirectoryHash.Hash(name, hashVersion, Ext4DirectoryHash.Seed(sb));
        byte[] node = root;
        int at = 0x20;
        for (int level = 0; ; level++)
        {
            int limit = BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(at));
            int count = BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(at + 2));
            int room = (bs - at - (csum ? 8 : 0)) / 8;
            if (count == 0 || count > limit || limit != room)
            {
                throw fs.Damaged($"hashed directory inode {dir.Number} has an index node with invalid counts ({count} of {limit})");
            }
            int chosen = 0;
            for (int i = 1; i < count; i++)
            {
                if (BinaryPrimitives.ReadUInt32LittleEndian(node.AsSpan(at + (i * 8))) > hash)
                {
                    break;
                }
                chosen = i;
            }
            uint block = BinaryPrimitives.ReadUInt32LittleEndian(node.AsSpan(at + (chosen * 8) + 4)) & 0x0FFFFFFF;
            ulong physical = Physical(fs, dir, runs, block);
            if (level == levels)
            {
                return physical;
            }
            node = fs.ReadBlock(physical);
            at = 0x08;
        }
    }

    private static ulong Physical(Ext4FileSystem fs, Ext4Inode dir, List<Ext4Run> runs, uint logical)
    {
        if ((long)logical * fs.BlockSize < dir.Size)
        {
            foreach (var r in runs)
            {
                if (logical >= r.Logical && logical - r.Logical < r.Length && !r.Uninitialized)
                {
                    return r.Physical + (logical - r.Logical);
                }
            }
        }
        throw fs.Damaged($"hashed directory inode {dir.Number} points at block {logical}, which it does not have");
    }

    /// <summary>Places an entry in the leaf the index assigns to its hash; false when the index cannot take it (leaf full, unknown hash).</summary>
    public static bool TryInsert(Ext4FileSystem fs, Ext4Inode dir, byte[] name, uint number, byte fileType)
    {
        var (runs, _) = fs.MapFile(dir);
        if (FindLeaf(fs, dir, runs, name) is not ulong physical)
        {
            return false;
        }
        bool csum = fs.Superblock.HasMetadataCsum;
        byte[] data = fs.ReadBlock(physical);
        if (csum && !Ext4Directory.HasTail(data))
        {
            throw fs.Damaged($"hashed directory inode {dir.Number} has a leaf block {physical} without its checksum tail");
        }
        int usable = csum ? fs.BlockSize - Ext4Directory.TailSize : fs.BlockSize;
        if (!Ext4Directory.TryInsert(fs, data, usable, dir.Number, number, name, fileType, fs.Superblock.HasFiletype))
        {
            return false;
        }
        if (csum)
        {
            fs.SetDirectoryBlockChecksum(dir, data);
        }
        fs.WriteBlock(physical, data);
        return true;
    }

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
