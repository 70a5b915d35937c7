using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// Extended attributes in blocks of the attribute fork: leaf form (block 0 is a leaf) and node
/// form (a dabtree whose leaves are chained by forward links), with values kept in the leaf
/// ("local") or in remote blocks that on v5 carry one "XARM" header per block.
/// </summary>
internal static class XfsAttrLeaf
{
    public const ushort LeafMagicV5 = 0x3BEE, LeafMagicV4 = 0xFBEE, NodeMagicV5 = 0x3EBE, NodeMagicV4 = 0xFEBE;
    public const uint RemoteMagic = 0x5841524D; // "XARM"
    public const int DaCrcOffset = 12, DaOwnerOffset = 48, RemoteHeaderSize = 56, RemoteCrcOffset = 12;
    public const byte FlagLocal = 0x01, FlagRoot = 0x02, FlagSecure = 0x04, FlagParent = 0x08, FlagIncomplete = 0x80;
    private const int MaxDepth = 5;

    /// <summary>The Linux name of an attribute from its namespace flags, or null for entries that are not xattrs (parent pointers).</summary>
    public static string? FullName(byte flags, ReadOnlySpan<byte> name)
    {
        if ((flags & (FlagParent | FlagIncomplete)) != 0)
        {
            return null;
        }
        string prefix = (flags & FlagRoot) != 0 ? "trusted." : (flags & FlagSecure) != 0 ? "security." : "user.";
        return prefix + Encoding.UTF8.GetString(name);
    }

    public static void Read(XfsFileSystem fs, XfsInode inode, Dictionary<string, byte[]> result)
    {
        var sb = fs.Superblock;
        var extents = XfsBmap.Map(fs, inode, attr: true);
        var visited = new HashSet<ulong>();
        ulong block = 0;
        // Down the leftmost path of the dabtree to the first leaf.
        for (int depth = 0; ; depth++)
        {
            byte[] data = ReadDaBlock(fs, inode, extents, block, visited);
            ushort magic = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(8));
            if (magic == (sb.IsV5 ? LeafMagicV5 : LeafMagicV4))
            {
                break;
            }
            if (magic != (sb.IsV5 ? NodeMagicV5 : NodeMagicV4) || depth >= MaxDepth)
            {
                throw fs.Damaged($"inode {inode.Number} has attribute block {block} with magic 0x{magic:X4} at depth {depth}");
            }
            int header = sb.IsV5 ? 64 : 16;
            int count = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(sb.IsV5 ? 56 : 12));
            if (count == 0 || header + (count * 8) > data.Length)
            {
                throw fs.Damaged($"inode {inode.Number} has attribute node block {block} with {count} entries");
            }
            block = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(header + 4));
        }
        // Along the leaves by their forward links.
        visited.Clear();
        while (true)
        {
            byte[] leaf = ReadDaBlock(fs, inode, extents, block, visited);
            if (BinaryPrimitives.ReadUInt16BigEndian(leaf.AsSpan(8)) != (sb.IsV5 ? LeafMagicV5 : LeafMagicV4))
            {
                throw fs.Damaged($"inode {inode.Number} has attribute block {block} in its leaf chain that is not a leaf");
            }
            ReadLeaf(fs, inode, extents, leaf, block, result);
            uint next = BinaryPrimitives.ReadUInt32BigEndian(leaf);
            if (next == 0)
            {
                return;
            }
            block = next;
        }
    }

    private static byte[] ReadDaBlock(XfsFileSystem fs, XfsInode inode, List<XfsExtent> extents, ulong block, HashSet<ulong> visited)
    {
        if (!visited.Add(block))
        {
            throw fs.Damaged($"inode {inode.Number} has attribute blocks that link back to block {block} (a loop)");
        }
        byte[] data = fs.ReadForkBlocks(inode, extents, block, 1, "attribute");
        var sb = fs.Superblock;
        if (sb.IsV5 && (!XfsChecksum.Verify(data, DaCrcOffset) || BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(DaOwnerOffset)) != inode.Number ||
            !data.AsSpan(32, 16).SequenceEqual(sb.MetadataUuid)))
        {
            throw fs.Damaged($"inode {inode.Number} has attribute block {block} that fails its checksum or names another owner");
        }
        return data;
    }

    private static void ReadLeaf(XfsFileSystem fs, XfsInode inode, List<XfsExtent> extents, byte[] leaf, ulong block, Dictionary<string, byte[]> result)
    {
        var sb = fs.Superblock;
        int header = sb.IsV5 ? 80 : 32;
        int count = BinaryPrimitives.ReadUInt16BigEndian(leaf.AsSpan(sb.IsV5 ? 56 : 12));
        if (header + (count * 8) > leaf.Length)
        {
            throw fs.Damaged($"inode {inode.Number} has attribute leaf {block} with {count} entries");
        }
        for (int i = 0; i < count; i++)
        {
            int e = header + (i * 8);
            int nameIndex = BinaryPrimitives.ReadUInt16BigEndian(leaf.AsSpan(e + 4));
            byte flags = leaf[e + 6];
            if (nameIndex < header + (count * 8) || nameIndex >= leaf.Length)
            {
                throw fs.Damaged($"inode {inode.Number} has attribute leaf {block} entry {i} at offset {nameIndex}");
            }
            if ((flags & FlagLocal) != 0)
            {
                if (nameIndex + 3 > leaf.Length)
                {
                    throw fs.Damaged($"inode {inode.Number} has attribute leaf {block} entry {i} beyond the block");
                }
                int valueLength = BinaryPrimitives.ReadUInt16BigEndian(leaf.AsSpan(nameIndex));
                int nameLength = leaf[nameIndex + 2];
                if (nameIndex + 3 + nameLength + valueLength > leaf.Length)
                {
                    throw fs.Damaged($"inode {inode.Number} has attribute leaf {block} entry {i} beyond the block");
                }
                if (FullName(flags, leaf.AsSpan(nameIndex + 3, nameLength)) is string name)
                {
                    result[name] = leaf.AsSpan(nameIndex + 3 + nameLength, valueLength).ToArray();
                }
            }
            else
            {
                if (nameIndex + 9 > leaf.Length)
                {
                    throw fs.Damaged($"inode {inode.Number} has attribute leaf {block} entry {i} beyond the block");
                }
                uint valueBlock = BinaryPrimitives.ReadUInt32BigEndian(leaf.AsSpan(nameIndex));
                uint valueLength = BinaryPrimitives.ReadUInt32BigEndian(leaf.AsSpan(nameIndex + 4));
                int nameLength = leaf[nameIndex + 8];
                if (nameIndex + 9 + nameLength > leaf.Length)
                {
                    throw fs.Damaged($"inode {inode.Number} has attribute leaf {block} entry {i} beyond the block");
                }
                if (FullName(flags, leaf.AsSpan(nameIndex + 9, nameLength)) is string name)
                {
                    result[name] = ReadRemote(fs, inode, extents, valueBlock, valueLength);
                }
            }
        }
    }

    private static byte[] ReadRemote(XfsFileSystem fs, XfsInode inode, List<XfsExtent> extents, uint first, uint length)
    {
        var sb = fs.Superblock;
        const int MaxValue = 64 * 1024; // XATTR_SIZE_MAX
        if (length > MaxValue)
        {
            throw fs.Damaged($"inode {inode.Number} has a remote attribute value of {length} bytes");
        }
        int perBlock = sb.BlockSize - (sb.IsV5 ? RemoteHeaderSize : 0);
        var value = new byte[length];
        int done = 0;
        for (ulong b = first; done < length; b++)
        {
            byte[] data = fs.ReadForkBlocks(inode, extents, b, 1, "attribute");
            int n = (int)Math.Min(perBlock, length - done);
            int start = 0;
            if (sb.IsV5)
            {
                if (BinaryPrimitives.ReadUInt32BigEndian(data) != RemoteMagic || !XfsChecksum.Verify(data, RemoteCrcOffset) ||
                    BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4)) != done || BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(8)) != n ||
                    BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(32)) != inode.Number)
                {
                    throw fs.Damaged($"inode {inode.Number} has a remote attribute block {b} that fails its checks");
                }
                start = RemoteHeaderSize;
            }
            data.AsSpan(start, n).CopyTo(value.AsSpan(done));
            done += n;
        }
        return value;
    }
}
