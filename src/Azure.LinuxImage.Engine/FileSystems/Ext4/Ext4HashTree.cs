using System.Buffers.Binary;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// Hashed (htree) directories. Lookups never need the index (every leaf is an ordinary directory
/// block, so a linear scan finds every name). Removing a name keeps the index valid. Adding a name
/// hashes it, walks the index to the leaf that owns that hash (as the kernel's dx_probe does) and
/// puts it there, splitting a full leaf in two at a hash boundary (and a full interior index node
/// under a root with room), so the index stays valid. Only when the root itself is full (we do not
/// add index levels) or names of one hash fill a leaf is the directory turned back into a
/// linear one — the root block keeps "." and "..", every index node becomes an empty directory block,
/// and the index flag is cleared — which e2fsck accepts and the kernel (or e2fsck -D) can index again.
/// </summary>
internal static class Ext4HashTree
{
    /// <summary>Where dx_probe ends: the leaf, and the index node and entry that point at it.</summary>
    internal sealed record Probe(ulong LeafPhysical, ulong NodePhysical, byte[] Node, int CountOffset, int Chosen, int HashVersion, uint[] Seed,
        ulong RootPhysical, byte[] Root, int RootChosen);

    /// <summary>
    /// The physical block of the leaf the index assigns to <paramref name="name"/> (the kernel's
    /// dx_probe), or null when the index uses a hash this engine does not compute.
    /// </summary>
    public static ulong? FindLeaf(Ext4FileSystem fs, Ext4Inode dir, List<Ext4Run> runs, ReadOnlySpan<byte> name) =>
        ProbeIndex(fs, dir, runs, name)?.LeafPhysical;

    internal static Probe? ProbeIndex(Ext4FileSystem fs, Ext4Inode dir, List<Ext4Run> runs, ReadOnlySpan<byte> name)
    {
        var sb = fs.Superblock;
        bool csum = sb.HasMetadataCsum;
        int bs = fs.BlockSize;
        ulong rootPhysical = Physical(fs, dir, runs, 0);
        byte[] root = fs.ReadBlock(rootPhysical);
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
        uint[] seed = Ext4DirectoryHash.Seed(sb);
        uint hash = Ext4DirectoryHash.Hash(name, hashVersion, seed);
        byte[] node = root;
        ulong nodePhysical = rootPhysical;
        int at = 0x20;
        int rootChosen = 0;
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
            if (level == 0)
            {
                rootChosen = chosen;
            }
            if (level == levels)
            {
                return new Probe(physical, nodePhysical, node, at, chosen, hashVersion, seed, rootPhysical, root, rootChosen);
            }
            node = fs.ReadBlock(physical);
            nodePhysical = physical;
            at = 0x08;
        }
    }

    /// <summary>The checksum of an index node (root or interior): over the header and live entries, then the tail with its checksum field as zero.</summary>
    internal static uint DxChecksum(Ext4FileSystem fs, Ext4Inode dir, byte[] node, int countOffset)
    {
        int limit = BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(countOffset));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(countOffset + 2));
        int tail = countOffset + (limit * 8);
        uint c = Crc32C.Update(fs.InodeSeed(dir), node.AsSpan(0, countOffset + (count * 8)));
        c = Crc32C.Update(c, node.AsSpan(tail, 4));
        return Crc32C.Update(c, [0, 0, 0, 0]);
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

    /// <summary>
    /// Places an entry in the leaf the index assigns to its hash. A full leaf is split in two at a
    /// hash boundary (the upper half goes to a new block appended to the directory, and a new index
    /// entry points at it), as the kernel does. False when the index cannot take the name: the index
    /// node is full too, all names share one hash, or the hash is one we do not compute.
    /// </summary>
    public static bool TryInsert(Ext4FileSystem fs, Ext4Inode dir, byte[] name, uint number, byte fileType)
    {
        var (runs, _) = fs.MapFile(dir);
        if (ProbeIndex(fs, dir, runs, name) is not Probe probe)
        {
            return false;
        }
        var sb = fs.Superblock;
        bool csum = sb.HasMetadataCsum;
        bool ft = sb.HasFiletype;
        int bs = fs.BlockSize;
        byte[] data = fs.ReadBlock(probe.LeafPhysical);
        if (csum && !Ext4Directory.HasTail(data))
        {
            throw fs.Damaged($"hashed directory inode {dir.Number} has a leaf block {probe.LeafPhysical} without its checksum tail");
        }
        int usable = fs.UsableDirectoryBytes;
        if (Ext4Directory.TryInsert(fs, data, usable, dir.Number, number, name, fileType, ft))
        {
            if (csum)
            {
                fs.SetDirectoryBlockChecksum(dir, data);
            }
            fs.WriteBlock(probe.LeafPhysical, data);
            return true;
        }

        // Split the leaf; the index node that points at it needs room for one more entry, and when
        // it is a full interior node it is split too (under a root with room), as the kernel does.
        byte[] node = probe.Node;
        int at = probe.CountOffset;
        int limit = BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(at));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(at + 2));
        byte[] root = probe.Root;
        int rootLimit = BinaryPrimitives.ReadUInt16LittleEndian(root.AsSpan(0x20));
        int rootCount = BinaryPrimitives.ReadUInt16LittleEndian(root.AsSpan(0x22));
        bool splitNode = count >= limit;
        if (splitNode && (at != 0x08 || rootCount >= rootLimit))
        {
            return false;
        }
        var entries = new List<(byte[] Name, uint Inode, byte Type, uint Hash)>();
        foreach (var slot in Ext4Directory.Parse(fs, data.AsSpan(0, usable), dir.Number, ft))
        {
            if (slot.Inode != 0)
            {
                byte[] n = data.AsSpan(slot.Offset + 8, slot.NameLength).ToArray();
                entries.Add((n, slot.Inode, slot.FileType, Ext4DirectoryHash.Hash(n, probe.HashVersion, probe.Seed)));
            }
        }
        entries.Add((name, number, fileType, Ext4DirectoryHash.Hash(name, probe.HashVersion, probe.Seed)));
        entries.Sort((a, b) => a.Hash.CompareTo(b.Hash));
        int split = FindSplit(entries);
        if (split <= 0)
        {
            return false;
        }
        byte[] lower = new byte[bs];
        byte[] upper = new byte[bs];
        if (!Pack(lower, entries.Take(split), usable, ft) || !Pack(upper, entries.Skip(split), usable, ft))
        {
            return false;
        }
        fs.FinishDirectoryBlock(dir, lower);
        fs.FinishDirectoryBlock(dir, upper);
        fs.WriteBlock(probe.LeafPhysical, lower);
        uint newLeaf = fs.AppendDirectoryBlock(dir, upper);

        byte[] target = node;
        int position = probe.Chosen + 1;
        byte[]? newNode = null;
        uint upperNodeHash = 0;
        if (splitNode)
        {
            // Entries [half, count) move to a new interior node; its first entry's hash keys it in the root.
            int half = count / 2;
            newNode = new byte[bs];
            BinaryPrimitives.WriteUInt16LittleEndian(newNode.AsSpan(4), (ushort)(bs % 65536));
            BinaryPrimitives.WriteUInt16LittleEndian(newNode.AsSpan(8), (ushort)limit);
            BinaryPrimitives.WriteUInt16LittleEndian(newNode.AsSpan(10), (ushort)(count - half));
            upperNodeHash = BinaryPrimitives.ReadUInt32LittleEndian(node.AsSpan(at + (half * 8)));
            Array.Copy(node, at + (half * 8) + 4, newNode, 12, 4);
            Array.Copy(node, at + ((half + 1) * 8), newNode, 16, (count - half - 1) * 8);
            Array.Clear(node, at + (half * 8), (count - half) * 8);
            BinaryPrimitives.WriteUInt16LittleEndian(node.AsSpan(at + 2), (ushort)half);
            if (probe.Chosen >= half)
            {
                target = newNode;
                position = probe.Chosen - half + 1;
            }
        }
        InsertIndexEntry(target, at, position, entries[split].Hash, newLeaf);
        if (csum)
        {
            SetDxChecksum(fs, dir, node, at);
        }
        fs.WriteBlock(probe.NodePhysical, node);
        if (newNode is not null)
        {
            if (csum)
            {
                SetDxChecksum(fs, dir, newNode, at);
            }
            uint newNodeLogical = fs.AppendDirectoryBlock(dir, newNode);
            InsertIndexEntry(root, 0x20, probe.RootChosen + 1, upperNodeHash, newNodeLogical);
            if (csum)
            {
                SetDxChecksum(fs, dir, root, 0x20);
            }
            fs.WriteBlock(probe.RootPhysical, root);
        }
        return true;
    }

    private static void InsertIndexEntry(byte[] node, int countOffset, int position, uint hash, uint logical)
    {
        int count = BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(countOffset + 2));
        int insertAt = countOffset + (position * 8);
        int liveEnd = countOffset + (count * 8);
        Array.Copy(node, insertAt, node, insertAt + 8, liveEnd - insertAt);
        BinaryPrimitives.WriteUInt32LittleEndian(node.AsSpan(insertAt), hash);
        BinaryPrimitives.WriteUInt32LittleEndian(node.AsSpan(insertAt + 4), logical);
        BinaryPrimitives.WriteUInt16LittleEndian(node.AsSpan(countOffset + 2), (ushort)(count + 1));
    }

    private static void SetDxChecksum(Ext4FileSystem fs, Ext4Inode dir, byte[] node, int countOffset)
    {
        int limit = BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(countOffset));
        BinaryPrimitives.WriteUInt32LittleEndian(node.AsSpan(countOffset + (limit * 8) + 4), DxChecksum(fs, dir, node, countOffset));
    }

    /// <summary>A split point near the middle where the hash changes (names of one hash must stay in one leaf).</summary>
    private static int FindSplit(List<(byte[] Name, uint Inode, byte Type, uint Hash)> entries)
    {
        int mid = entries.Count / 2;
        for (int d = 0; d < entries.Count; d++)
        {
            foreach (int i in new[] { mid + d, mid - d })
            {
                if (i > 0 && i < entries.Count && entries[i].Hash != entries[i - 1].Hash)
                {
                    return i;
                }
            }
        }
        return -1;
    }

    private static bool Pack(byte[] block, IEnumerable<(byte[] Name, uint Inode, byte Type, uint Hash)> entries, int usable, bool ft)
    {
        var list = entries.ToList();
        int offset = 0;
        for (int i = 0; i < list.Count; i++)
        {
            int size = Ext4Directory.EntrySize(list[i].Name.Length);
            if (offset + size > usable)
            {
                return false;
            }
            int recLen = i == list.Count - 1 ? usable - offset : size;
            Ext4Directory.WriteEntry(block, offset, recLen, list[i].Inode, list[i].Name, list[i].Type, ft);
            offset += recLen;
        }
        return list.Count > 0;
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
