using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>Directory listing and name lookup (lib/ext2fs dir_iterate.c, lookup.c).</summary>
public sealed partial class Ext4FileSystem
{
    public IReadOnlyList<Ext4DirEntry> ReadDirectory(Ext4Inode dir)
    {
        if (!dir.IsDirectory)
        {
            throw new InvalidOperationException($"Inode {dir.Number} is not a directory.");
        }
        var result = new List<Ext4DirEntry>();
        bool ft = Superblock.HasFiletype;
        if ((dir.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            byte[] body = ReadData(dir);
            if (body.Length < 4)
            {
                throw Damaged($"inline directory inode {dir.Number} is too short");
            }
            result.Add(new Ext4DirEntry(".", dir.Number, Ext4Directory.TypeDirectory));
            result.Add(new Ext4DirEntry("..", BinaryPrimitives.ReadUInt32LittleEndian(body), Ext4Directory.TypeDirectory));
            AddEntries(body.AsSpan(4, Math.Min(body.Length, Ext4Inode.BlockArraySize) - 4), dir.Number, ft, result);
            if (body.Length > Ext4Inode.BlockArraySize)
            {
                AddEntries(body.AsSpan(Ext4Inode.BlockArraySize), dir.Number, ft, result);
            }
            return result;
        }
        var (runs, _) = MapFile(dir);
        long blocks = (dir.Size + BlockSize - 1) / BlockSize;
        foreach (var run in runs)
        {
            for (uint i = 0; i < run.Length && run.Logical + i < blocks; i++)
            {
                byte[] block = ReadBlock(run.Physical + i);
                VerifyDirectoryBlockChecksum(dir, block, run.Physical + i);
                AddEntries(block, dir.Number, ft, result);
            }
        }
        return result;
    }

    private void AddEntries(ReadOnlySpan<byte> block, uint dirInode, bool ft, List<Ext4DirEntry> result)
    {
        if (block.IsEmpty)
        {
            return;
        }
        foreach (var slot in Ext4Directory.Parse(this, block, dirInode, ft))
        {
            if (slot.Inode != 0)
            {
                result.Add(new Ext4DirEntry(Ext4Directory.Name(block, slot), slot.Inode, slot.FileType));
            }
        }
    }

    /// <summary>
    /// The inode a directory names <paramref name="name"/>, or 0. A hashed directory is asked for the
    /// leaf that owns the name first; every other case (and a miss there) scans all blocks, which is
    /// always correct.
    /// </summary>
    public uint Lookup(Ext4Inode dir, string name)
    {
        if (!dir.IsDirectory)
        {
            throw new InvalidOperationException($"Inode {dir.Number} is not a directory.");
        }
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        if ((dir.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            foreach (var e in ReadDirectory(dir))
            {
                if (e.Name == name)
                {
                    return e.Inode;
                }
            }
            return 0;
        }
        if (name == ".")
        {
            return dir.Number;
        }
        var (runs, _) = MapFile(dir);
        bool ft = Superblock.HasFiletype;
        ulong? leaf = null;
        if ((dir.Flags & Ext4Inode.FlagIndex) != 0 && name != "..")
        {
            leaf = Ext4HashTree.FindLeaf(this, dir, runs, nameBytes);
            if (leaf is ulong physical && FindInBlock(dir, physical, nameBytes, ft) is uint found and not 0)
            {
                return found;
            }
        }
        long blocks = (dir.Size + BlockSize - 1) / BlockSize;
        foreach (var run in runs)
        {
            for (uint i = 0; i < run.Length && run.Logical + i < blocks; i++)
            {
                ulong physical = run.Physical + i;
                if (physical != leaf && FindInBlock(dir, physical, nameBytes, ft) is uint found and not 0)
                {
                    return found;
                }
            }
        }
        return 0;
    }

    private uint FindInBlock(Ext4Inode dir, ulong physical, byte[] name, bool ft)
    {
        byte[] block = ReadBlock(physical);
        VerifyDirectoryBlockChecksum(dir, block, physical);
        foreach (var slot in Ext4Directory.Parse(this, block, dir.Number, ft))
        {
            if (Ext4Directory.NameEquals(block, slot, name))
            {
                return slot.Inode;
            }
        }
        return 0;
    }
}
