using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// Block and inode allocation over the group bitmaps. Bitmaps are loaded on demand and written back,
/// with their checksums, the descriptors and the superblock, by <see cref="Commit"/> at the end of
/// every public operation.
/// </summary>
public sealed partial class Ext4FileSystem
{
    private bool GroupFlagsValid => Superblock.HasMetadataCsum || Superblock.HasGdtCsum;

    private bool IsBlockUninit(uint g) => GroupFlagsValid && (groups.Flags(g) & Ext4GroupDescriptors.FlagBlockUninit) != 0;

    private bool IsInodeUninit(uint g) => GroupFlagsValid && (groups.Flags(g) & Ext4GroupDescriptors.FlagInodeUninit) != 0;

    private int BlockBitmapBytes => (int)(Superblock.BlocksPerGroup / 8);

    private int InodeBitmapBytes => (int)(Superblock.InodesPerGroup / 8);

    private byte[] BlockBitmap(uint g)
    {
        if (blockBitmaps.TryGetValue(g, out var bitmap))
        {
            return bitmap;
        }
        if (IsBlockUninit(g))
        {
            bitmap = SynthesizeBlockBitmap(g);
        }
        else
        {
            bitmap = ReadBlock(groups.BlockBitmap(g));
            if (Superblock.HasMetadataCsum && !groups.BlockBitmapChecksumMatches(g, Crc32C.Update(csumSeed, bitmap.AsSpan(0, BlockBitmapBytes))))
            {
                throw Damaged($"the block bitmap of group {g} fails its checksum");
            }
        }
        blockBitmaps[g] = bitmap;
        return bitmap;
    }

    /// <summary>
    /// What the bitmap of a never-initialised group must contain, as the kernel computes it: the
    /// superblock and descriptor copies (with reserved GDT blocks) when the group has a backup, every
    /// group's bitmaps and inode table that flex_bg placed inside this group, and the padding past the
    /// group's last block.
    /// </summary>
    private byte[] SynthesizeBlockBitmap(uint g)
    {
        var bitmap = new byte[BlockSize];
        ulong first = GroupFirstBlock(g);
        uint inGroup = BlocksInGroup(g);
        if (GroupHasSuperblock(g))
        {
            ulong gdtBlocks = (((ulong)groups.Count * (ulong)Superblock.DescriptorSize) + (ulong)BlockSize - 1) / (ulong)BlockSize;
            ulong used = 1 + gdtBlocks + Superblock.ReservedGdtBlocks;
            for (ulong b = 0; b < used && b < inGroup; b++)
            {
                SetBit(bitmap, (int)b);
            }
        }
        ulong tableBlocks = (((ulong)Superblock.InodesPerGroup * (ulong)Superblock.InodeSize) + (ulong)BlockSize - 1) / (ulong)BlockSize;
        for (uint o = 0; o < groups.Count; o++)
        {
            MarkIfInside(bitmap, first, inGroup, groups.BlockBitmap(o), 1);
            MarkIfInside(bitmap, first, inGroup, groups.InodeBitmap(o), 1);
            MarkIfInside(bitmap, first, inGroup, groups.InodeTable(o), tableBlocks);
        }
        for (int b = (int)inGroup; b < BlockSize * 8; b++)
        {
            SetBit(bitmap, b);
        }
        return bitmap;
    }

    private static void MarkIfInside(byte[] bitmap, ulong first, uint inGroup, ulong start, ulong count)
    {
        for (ulong b = start; b < start + count; b++)
        {
            if (b >= first && b < first + inGroup)
            {
                SetBit(bitmap, (int)(b - first));
            }
        }
    }

    private byte[] InodeBitmap(uint g)
    {
        if (inodeBitmaps.TryGetValue(g, out var bitmap))
        {
            return bitmap;
        }
        if (IsInodeUninit(g))
        {
            bitmap = new byte[BlockSize];
            for (int b = (int)Superblock.InodesPerGroup; b < BlockSize * 8; b++)
            {
                SetBit(bitmap, b);
            }
        }
        else
        {
            bitmap = ReadBlock(groups.InodeBitmap(g));
            if (Superblock.HasMetadataCsum && !groups.InodeBitmapChecksumMatches(g, Crc32C.Update(csumSeed, bitmap.AsSpan(0, InodeBitmapBytes))))
            {
                throw Damaged($"the inode bitmap of group {g} fails its checksum");
            }
        }
        inodeBitmaps[g] = bitmap;
        return bitmap;
    }

    private static bool GetBit(byte[] bitmap, int bit) => (bitmap[bit >> 3] & (1 << (bit & 7))) != 0;

    private static void SetBit(byte[] bitmap, int bit) => bitmap[bit >> 3] |= (byte)(1 << (bit & 7));

    private static void ClearBit(byte[] bitmap, int bit) => bitmap[bit >> 3] &= (byte)~(1 << (bit & 7));

    /// <summary>
    /// Allocates <paramref name="count"/> blocks, as few runs as possible, starting the search at
    /// <paramref name="goal"/>'s group. Groups whose bitmaps are already initialised are tried first
    /// so that a small change does not initialise (and dirty) fresh groups.
    /// </summary>
    internal List<(ulong Start, uint Length)> AllocateBlocks(long count, ulong goal, string forPath)
    {
        var result = new List<(ulong, uint)>();
        if (count <= 0)
        {
            return result;
        }
        if ((ulong)count > Superblock.FreeBlocksCount)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4NoSpace, Source, Source, "blocks", forPath);
        }
        uint goalGroup = goal >= Superblock.FirstDataBlock && goal < Superblock.BlocksCount
            ? (uint)((goal - Superblock.FirstDataBlock) / Superblock.BlocksPerGroup)
            : 0;
        long remaining = count;
        for (int pass = 0; pass < 2 && remaining > 0; pass++)
        {
            for (uint i = 0; i < groups.Count && remaining > 0; i++)
            {
                uint g = (goalGroup + i) % groups.Count;
                if (groups.FreeBlocks(g) == 0 || IsBlockUninit(g) != (pass == 1))
                {
                    continue;
                }
                remaining -= AllocateInGroup(g, remaining, i == 0 ? goal : 0, result);
            }
        }
        if (remaining > 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4NoSpace, Source, Source, "blocks", forPath);
        }
        return result;
    }

    private long AllocateInGroup(uint g, long wanted, ulong goal, List<(ulong Start, uint Length)> result)
    {
        byte[] bitmap = BlockBitmap(g);
        ulong first = GroupFirstBlock(g);
        int inGroup = (int)BlocksInGroup(g);
        int startBit = goal >= first && goal < first + (ulong)inGroup ? (int)(goal - first) : 0;
        long taken = 0;
        for (int pass = 0; pass < 2 && taken < wanted; pass++)
        {
            int from = pass == 0 ? startBit : 0;
            int to = pass == 0 ? inGroup : startBit;
            for (int b = from; b < to && taken < wanted; b++)
            {
                if (GetBit(bitmap, b))
                {
                    continue;
                }
                SetBit(bitmap, b);
                taken++;
                ulong block = first + (ulong)b;
                if (result.Count > 0 && result[^1].Start + result[^1].Length == block && result[^1].Length < uint.MaxValue)
                {
                    result[^1] = (result[^1].Start, result[^1].Length + 1);
                }
                else
                {
                    result.Add((block, 1));
                }
            }
        }
        if (taken > 0)
        {
            groups.SetFreeBlocks(g, groups.FreeBlocks(g) - (uint)taken);
            if (IsBlockUninit(g))
            {
                groups.SetFlags(g, (ushort)(groups.Flags(g) & ~Ext4GroupDescriptors.FlagBlockUninit));
            }
            Superblock.FreeBlocksCount -= (ulong)taken;
            dirtyGroups.Add(g);
        }
        return taken;
    }

    internal void FreeBlocks(ulong start, ulong count)
    {
        CheckBlockRange(start, count, 0);
        for (ulong b = start; b < start + count; b++)
        {
            uint g = (uint)((b - Superblock.FirstDataBlock) / Superblock.BlocksPerGroup);
            int bit = (int)((b - Superblock.FirstDataBlock) % Superblock.BlocksPerGroup);
            byte[] bitmap = BlockBitmap(g);
            if (!GetBit(bitmap, bit))
            {
                throw Damaged($"block {b} is freed but was not in use (a block shared by two owners)");
            }
            ClearBit(bitmap, bit);
            groups.SetFreeBlocks(g, groups.FreeBlocks(g) + 1);
            Superblock.FreeBlocksCount++;
            dirtyGroups.Add(g);
        }
    }

    internal uint AllocateInode(bool directory, uint nearInode, string forPath)
    {
        if (Superblock.FreeInodesCount == 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4NoSpace, Source, Source, "inodes", forPath);
        }
        uint startGroup = nearInode == 0 ? 0 : (nearInode - 1) / Superblock.InodesPerGroup;
        for (int pass = 0; pass < 2; pass++)
        {
            for (uint i = 0; i < groups.Count; i++)
            {
                uint g = (startGroup + i) % groups.Count;
                if (groups.FreeInodes(g) == 0 || IsInodeUninit(g) != (pass == 1))
                {
                    continue;
                }
                byte[] bitmap = InodeBitmap(g);
                for (int b = 0; b < Superblock.InodesPerGroup; b++)
                {
                    uint number = (g * Superblock.InodesPerGroup) + (uint)b + 1;
                    if (GetBit(bitmap, b) || number < Superblock.FirstInode)
                    {
                        continue;
                    }
                    SetBit(bitmap, b);
                    groups.SetFreeInodes(g, groups.FreeInodes(g) - 1);
                    if (directory)
                    {
                        groups.SetUsedDirs(g, groups.UsedDirs(g) + 1);
                    }
                    if (GroupFlagsValid)
                    {
                        groups.SetFlags(g, (ushort)(groups.Flags(g) & ~Ext4GroupDescriptors.FlagInodeUninit));
                        uint usedUpTo = Superblock.InodesPerGroup - groups.ItableUnused(g);
                        if ((uint)b + 1 > usedUpTo)
                        {
                            groups.SetItableUnused(g, Superblock.InodesPerGroup - ((uint)b + 1));
                        }
                    }
                    Superblock.FreeInodesCount--;
                    dirtyGroups.Add(g);
                    return number;
                }
            }
        }
        throw new LinuxImageException(DiagnosticCatalog.Ext4NoSpace, Source, Source, "inodes", forPath);
    }

    internal void FreeInode(uint number, bool directory)
    {
        uint g = (number - 1) / Superblock.InodesPerGroup;
        int bit = (int)((number - 1) % Superblock.InodesPerGroup);
        byte[] bitmap = InodeBitmap(g);
        if (!GetBit(bitmap, bit))
        {
            throw Damaged($"inode {number} is freed but was not in use");
        }
        ClearBit(bitmap, bit);
        groups.SetFreeInodes(g, groups.FreeInodes(g) + 1);
        if (directory)
        {
            groups.SetUsedDirs(g, groups.UsedDirs(g) - 1);
        }
        Superblock.FreeInodesCount++;
        dirtyGroups.Add(g);
    }

    /// <summary>The flex group's first block: ext4 keeps a file's data near its inode's flex group.</summary>
    internal ulong GoalForInode(uint number)
    {
        uint g = (number - 1) / Superblock.InodesPerGroup;
        if ((Superblock.FeatureIncompat & Ext4Superblock.IncompatFlexBg) != 0 && Superblock.LogGroupsPerFlex < 31)
        {
            g = g >> Superblock.LogGroupsPerFlex << Superblock.LogGroupsPerFlex;
        }
        return GroupFirstBlock(g);
    }

    /// <summary>Writes dirty bitmaps, descriptors (with checksums) and the superblock.</summary>
    internal void Commit()
    {
        var writable = (IO.IWritableVolume)io;
        var dirtyDescriptorBlocks = new SortedSet<uint>();
        int perBlock = BlockSize / Superblock.DescriptorSize;
        foreach (uint g in dirtyGroups)
        {
            if (blockBitmaps.TryGetValue(g, out var bb))
            {
                WriteBlock(groups.BlockBitmap(g), bb);
                if (Superblock.HasMetadataCsum)
                {
                    groups.SetBlockBitmapChecksum(g, Crc32C.Update(csumSeed, bb.AsSpan(0, BlockBitmapBytes)));
                }
            }
            if (inodeBitmaps.TryGetValue(g, out var ib))
            {
                WriteBlock(groups.InodeBitmap(g), ib);
                if (Superblock.HasMetadataCsum)
                {
                    groups.SetInodeBitmapChecksum(g, Crc32C.Update(csumSeed, ib.AsSpan(0, InodeBitmapBytes)));
                }
            }
            groups.UpdateChecksum(g, Superblock, csumSeed);
            dirtyDescriptorBlocks.Add(g / (uint)perBlock);
        }
        foreach (uint index in dirtyDescriptorBlocks)
        {
            int from = (int)(index * perBlock);
            int n = (int)Math.Min(perBlock, groups.Count - from);
            var bytes = new byte[BlockSize];
            io.ReadAt((long)DescriptorBlock(index) * BlockSize, bytes);
            for (int i = 0; i < n; i++)
            {
                groups.Raw((uint)(from + i)).CopyTo(bytes.AsSpan(i * Superblock.DescriptorSize));
            }
            WriteBlock(DescriptorBlock(index), bytes);
        }
        if (dirtyGroups.Count > 0)
        {
            Superblock.UpdateChecksum();
            writable.WriteAt(Ext4Superblock.Offset, Superblock.Raw);
        }
        dirtyGroups.Clear();
    }
}
