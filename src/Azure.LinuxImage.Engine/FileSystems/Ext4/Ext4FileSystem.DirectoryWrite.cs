using System.Buffers.Binary;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>Directory blocks changed: entries added and removed, blocks appended, ".." moved (lib/ext2fs link.c).</summary>
public sealed partial class Ext4FileSystem
{
    internal int UsableDirectoryBytes => Superblock.HasMetadataCsum ? BlockSize - Ext4Directory.TailSize : BlockSize;

    internal void FinishDirectoryBlock(Ext4Inode dir, byte[] block)
    {
        if (Superblock.HasMetadataCsum)
        {
            Ext4Directory.WriteTail(block);
            SetDirectoryBlockChecksum(dir, block);
        }
    }

    private IEnumerable<ulong> DirectoryBlocks(Ext4Inode dir)
    {
        var (runs, _) = MapFile(dir);
        long blocks = (dir.Size + BlockSize - 1) / BlockSize;
        foreach (var run in runs)
        {
            for (uint i = 0; i < run.Length && run.Logical + i < blocks; i++)
            {
                yield return run.Physical + i;
            }
        }
    }

    private byte[] ReadDirectoryBlockForWrite(Ext4Inode dir, ulong physical)
    {
        byte[] block = ReadBlock(physical);
        if (Superblock.HasMetadataCsum && !Ext4Directory.HasTail(block))
        {
            throw Damaged($"directory inode {dir.Number} has a block {physical} without its checksum tail");
        }
        return block;
    }

    private void AddEntry(Ext4Inode dir, byte[] name, uint number, byte type)
    {
        if ((dir.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            Uninline(dir, null, $"directory inode {dir.Number}");
            dir = ReadInode(dir.Number);
        }
        byte ft = Superblock.HasFiletype ? type : (byte)0;
        if ((dir.Flags & Ext4Inode.FlagIndex) != 0)
        {
            if (Ext4HashTree.TryInsert(this, dir, name, number, ft))
            {
                Touch(dir, modify: true);
                WriteInode(dir);
                return;
            }
            Ext4HashTree.RemoveIndex(this, dir);
        }
        foreach (ulong physical in DirectoryBlocks(dir).ToList())
        {
            byte[] block = ReadDirectoryBlockForWrite(dir, physical);
            if (Ext4Directory.TryInsert(this, block, UsableDirectoryBytes, dir.Number, number, name, ft, Superblock.HasFiletype))
            {
                FinishDirectoryBlock(dir, block);
                WriteBlock(physical, block);
                Touch(dir, modify: true);
                WriteInode(dir);
                return;
            }
        }
        // No room: append a block holding just the new entry.
        var fresh = new byte[BlockSize];
        Ext4Directory.WriteEntry(fresh, 0, UsableDirectoryBytes, number, name, ft, Superblock.HasFiletype);
        FinishDirectoryBlock(dir, fresh);
        AppendDirectoryBlock(dir, fresh);
        Touch(dir, modify: true);
        WriteInode(dir);
    }

    /// <summary>Adds a finished block (checksum set) at the end of a directory; updates the inode's mapping and size, not yet written.</summary>
    internal uint AppendDirectoryBlock(Ext4Inode dir, byte[] content)
    {
        var (runs, mapBlocks) = MapFile(dir);
        uint nextLogical = (uint)((dir.Size + BlockSize - 1) / BlockSize);
        ulong goal = runs.Count > 0 ? runs[^1].Physical + runs[^1].Length : GoalForInode(dir.Number);
        foreach (ulong b in mapBlocks)
        {
            FreeBlocks(b, 1);
        }
        var allocated = AllocateBlocks(1, goal, $"directory inode {dir.Number}");
        ulong newBlock = allocated[0].Start;
        WriteBlock(newBlock, content);
        if (runs.Count > 0 && runs[^1].Logical + runs[^1].Length == nextLogical && runs[^1].Physical + runs[^1].Length == newBlock && !runs[^1].Uninitialized)
        {
            runs[^1] = runs[^1] with { Length = runs[^1].Length + 1 };
        }
        else
        {
            runs.Add(new Ext4Run(nextLogical, newBlock, 1));
        }
        SetMapping(dir, runs, goal, $"directory inode {dir.Number}");
        dir.Size = (long)(nextLogical + 1) * BlockSize;
        return nextLogical;
    }

    private void RemoveEntry(Ext4Inode dir, byte[] name)
    {
        if ((dir.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            Uninline(dir, null, $"directory inode {dir.Number}");
            dir = ReadInode(dir.Number);
        }
        // Removing an entry from an htree leaf keeps the index valid (hashes and leaf ranges are unchanged).
        foreach (ulong physical in DirectoryBlocks(dir).ToList())
        {
            byte[] block = ReadBlock(physical);
            bool hasTail = Superblock.HasMetadataCsum && Ext4Directory.HasTail(block);
            int usable = hasTail ? UsableDirectoryBytes : BlockSize;
            if (Ext4Directory.TryRemove(this, block, usable, dir.Number, name, Superblock.HasFiletype, out _))
            {
                if (hasTail)
                {
                    SetDirectoryBlockChecksum(dir, block);
                }
                WriteBlock(physical, block);
                Touch(dir, modify: true);
                WriteInode(dir);
                return;
            }
        }
        throw new LinuxImageException(DiagnosticCatalog.GuestPathNotFound, Source, Source, Encoding.UTF8.GetString(name));
    }

    private void SetDotDot(Ext4Inode dir, uint newParent)
    {
        if ((dir.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            Uninline(dir, null, $"directory inode {dir.Number}");
            dir = ReadInode(dir.Number);
        }
        ulong first = DirectoryBlocks(dir).First();
        byte[] block = ReadBlock(first);
        var slots = Ext4Directory.Parse(this, block, dir.Number, Superblock.HasFiletype);
        if (slots.Count < 2 || Ext4Directory.Name(block, slots[1]) != "..")
        {
            throw Damaged($"directory inode {dir.Number} does not start with '.' and '..'");
        }
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(slots[1].Offset), newParent);
        if (Superblock.HasMetadataCsum && Ext4Directory.HasTail(block))
        {
            SetDirectoryBlockChecksum(dir, block);
        }
        WriteBlock(first, block);
    }
}
