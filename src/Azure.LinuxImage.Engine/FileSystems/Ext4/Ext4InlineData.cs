using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// Changing inline-data inodes: like the kernel when inline data outgrows the inode, we move the
/// body out to a block (a directory) or to extents (a file) and drop the system.data attribute,
/// keeping every other attribute of the inode byte for byte.
/// </summary>
public sealed partial class Ext4FileSystem
{
    /// <summary>Moves an inline file or directory out of the inode. For a file, <paramref name="newContent"/> (if given) is stored instead of the old body.</summary>
    private void Uninline(Ext4Inode inode, byte[]? newContent, string forPath)
    {
        if ((inode.Flags & Ext4Inode.FlagInlineData) == 0)
        {
            return;
        }
        byte[] body = ReadData(inode);
        var entries = inode.IsDirectory ? InlineDirectoryEntries(inode, body) : null;
        RemoveSystemData(inode);
        inode.Flags &= ~Ext4Inode.FlagInlineData;
        inode.BlockArray.Clear();
        inode.Size = 0;
        if (Superblock.HasExtents)
        {
            inode.Flags |= Ext4Inode.FlagExtents;
            Ext4Extents.Build(this, inode, [], []);
        }
        if (entries is null)
        {
            StoreData(inode, newContent ?? body, GoalForInode(inode.Number), forPath);
            WriteInode(inode);
            return;
        }
        uint parent = BinaryPrimitives.ReadUInt32LittleEndian(body);
        var block = new byte[BlockSize];
        int usable = UsableDirectoryBytes;
        bool ft = Superblock.HasFiletype;
        Ext4Directory.WriteEntry(block, 0, 12, inode.Number, "."u8, Ext4Directory.TypeDirectory, ft);
        int at = 12;
        var all = new List<(byte[] Name, uint Inode, byte Type)> { ("..".Select(c => (byte)c).ToArray(), parent, Ext4Directory.TypeDirectory) };
        all.AddRange(entries);
        for (int i = 0; i < all.Count; i++)
        {
            int size = Ext4Directory.EntrySize(all[i].Name.Length);
            int recLen = i == all.Count - 1 ? usable - at : size;
            if (at + size > usable)
            {
                throw Damaged($"inline directory inode {inode.Number} holds more entries than a block");
            }
            Ext4Directory.WriteEntry(block, at, recLen, all[i].Inode, all[i].Name, all[i].Type, ft);
            at += recLen;
        }
        FinishDirectoryBlock(inode, block);
        var allocated = AllocateBlocks(1, GoalForInode(inode.Number), forPath);
        WriteBlock(allocated[0].Start, block);
        SetMapping(inode, [new Ext4Run(0, allocated[0].Start, 1)], allocated[0].Start, forPath);
        inode.Size = BlockSize;
        WriteInode(inode);
    }

    private List<(byte[] Name, uint Inode, byte Type)> InlineDirectoryEntries(Ext4Inode dir, byte[] body)
    {
        var result = new List<(byte[], uint, byte)>();
        void Collect(byte[] region)
        {
            if (region.Length == 0)
            {
                return;
            }
            foreach (var slot in Ext4Directory.Parse(this, region, dir.Number, Superblock.HasFiletype))
            {
                if (slot.Inode != 0)
                {
                    result.Add((region.AsSpan(slot.Offset + 8, slot.NameLength).ToArray(), slot.Inode, slot.FileType));
                }
            }
        }
        Collect(body.AsSpan(4, Math.Min(body.Length, Ext4Inode.BlockArraySize) - 4).ToArray());
        if (body.Length > Ext4Inode.BlockArraySize)
        {
            Collect(body.AsSpan(Ext4Inode.BlockArraySize).ToArray());
        }
        return result;
    }

    /// <summary>Removes the system.data entry from the in-inode attribute area, shifting later entries down (their values stay put: value offsets are relative to the first entry).</summary>
    private void RemoveSystemData(Ext4Inode inode)
    {
        int areaStart = 128 + inode.ExtraSize;
        byte[] raw = inode.Raw;
        if (inode.ExtraSize == 0 || areaStart + 4 > raw.Length || BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(areaStart)) != Ext4Xattr.Magic)
        {
            throw Damaged($"inline-data inode {inode.Number} has no in-inode attribute area");
        }
        int first = areaStart + 4;
        int offset = first;
        int found = -1, foundSize = 0;
        while (offset + 4 <= raw.Length && BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(offset)) != 0)
        {
            if (offset + 16 > raw.Length)
            {
                throw Damaged($"inode {inode.Number} has a truncated extended attribute entry");
            }
            int nameLen = raw[offset];
            int size = (16 + nameLen + 3) & ~3;
            if (offset + size > raw.Length)
            {
                throw Damaged($"inode {inode.Number} has an extended attribute name past its area");
            }
            if (raw[offset + 1] == 7 && nameLen == 4 && raw.AsSpan(offset + 16, 4).SequenceEqual("data"u8))
            {
                found = offset;
                foundSize = size;
                int valueOffset = BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(offset + 2));
                int valueSize = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(offset + 8)), (uint)raw.Length);
                if (BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(offset + 4)) == 0 && valueSize > 0 && first + valueOffset + valueSize <= raw.Length)
                {
                    raw.AsSpan(first + valueOffset, valueSize).Clear();
                }
            }
            offset += size;
        }
        if (found < 0)
        {
            throw Damaged($"inline-data inode {inode.Number} has no system.data attribute");
        }
        int end = Math.Min(offset + 4, raw.Length);
        raw.AsSpan(found + foundSize, end - (found + foundSize)).CopyTo(raw.AsSpan(found));
        raw.AsSpan(end - foundSize, foundSize).Clear();
    }
}
