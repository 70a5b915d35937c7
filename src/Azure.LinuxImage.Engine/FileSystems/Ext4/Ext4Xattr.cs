using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// Extended attributes in the inode's extra space and in the attribute block (lib/ext2fs
/// ext_attr.c): reading both, and laying out entries for the writer (Ext4FileSystem.Xattr.cs).
/// </summary>
internal static class Ext4Xattr
{
    public const uint Magic = 0xEA020000;

    private static string Prefix(byte index) => index switch
    {
        1 => "user.",
        2 => "system.posix_acl_access",
        3 => "system.posix_acl_default",
        4 => "trusted.",
        6 => "security.",
        7 => "system.",
        8 => "system.richacl",
        _ => $"unknown{index}.",
    };

    private const int EntryHeader = 16, BlockHeader = 32;

    /// <summary>One attribute as stored: namespace index, name without its prefix, value (or the inode holding it).</summary>
    public sealed record Entry(byte Index, byte[] Name, byte[] Value, uint ValueInode)
    {
        public bool Is(byte index, byte[] name) => Index == index && Name.AsSpan().SequenceEqual(name);
    }

    /// <summary>The namespaces written: index and name without the prefix, or null.</summary>
    public static (byte Index, byte[] Name)? Split(string name) =>
        XattrNames.Split(name, 255) is var (ns, bytes)
            ? (ns switch { XattrNamespace.User => (byte)1, XattrNamespace.Trusted => (byte)4, _ => (byte)6 }, bytes)
            : null;

    private static int Pad(int n) => (n + 3) & ~3;

    /// <summary>ext2fs_ext_attr_hash_entry: the name, then the value in 32-bit little-endian words padded with zeros.</summary>
    public static uint Hash(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        uint hash = 0;
        foreach (byte b in name)
        {
            // Unsigned, as e2fsprogs and the kernel since 6.2 hash (both still accept the old signed hash of non-ASCII names).
            hash = (hash << 5) ^ (hash >> 27) ^ b;
        }
        Span<byte> word = stackalloc byte[4];
        for (int i = 0; i < value.Length; i += 4)
        {
            word.Clear();
            value.Slice(i, Math.Min(4, value.Length - i)).CopyTo(word);
            hash = (hash << 16) ^ (hash >> 16) ^ BinaryPrimitives.ReadUInt32LittleEndian(word);
        }
        return hash;
    }

    /// <summary>The entries of the in-inode area, in their order (empty without the area's magic).</summary>
    public static List<Entry> ReadInInode(Ext4FileSystem fs, Ext4Inode inode)
    {
        var result = new List<Entry>();
        int start = 128 + inode.ExtraSize;
        if (inode.ExtraSize > 0 && start + 4 <= inode.Raw.Length && BinaryPrimitives.ReadUInt32LittleEndian(inode.Raw.AsSpan(start)) == Magic)
        {
            var area = inode.Raw.AsSpan(start + 4);
            int offset = 0;
            while (offset + 4 <= area.Length && BinaryPrimitives.ReadUInt32LittleEndian(area[offset..]) != 0)
            {
                if (offset + EntryHeader > area.Length || offset + EntryHeader + area[offset] > area.Length)
                {
                    throw fs.Damaged($"inode {inode.Number} has a truncated extended attribute entry");
                }
                int nameLen = area[offset];
                int valueOffset = BinaryPrimitives.ReadUInt16LittleEndian(area[(offset + 2)..]);
                uint valueInode = BinaryPrimitives.ReadUInt32LittleEndian(area[(offset + 4)..]);
                uint valueSize = BinaryPrimitives.ReadUInt32LittleEndian(area[(offset + 8)..]);
                byte[] value = [];
                if (valueInode == 0)
                {
                    if (valueSize > (uint)area.Length || valueOffset > area.Length - (int)valueSize)
                    {
                        throw fs.Damaged($"inode {inode.Number} has an extended attribute value outside its area");
                    }
                    value = area.Slice(valueOffset, (int)valueSize).ToArray();
                }
                result.Add(new Entry(area[offset + 1], area.Slice(offset + EntryHeader, nameLen).ToArray(), value, valueInode));
                offset += Pad(EntryHeader + nameLen);
            }
        }
        return result;
    }

    /// <summary>
    /// Lays the entries out in the in-inode area (magic, entries, a zero word, values packed from the
    /// end, as the kernel's ext4_xattr_set_entry leaves them); false, with the inode unchanged, when
    /// they do not fit. No entries clear the area.
    /// </summary>
    public static bool WriteInInode(Ext4Inode inode, IReadOnlyList<Entry> entries)
    {
        int start = 128 + inode.ExtraSize;
        if (entries.Count == 0)
        {
            if (start < inode.Raw.Length)
            {
                inode.Raw.AsSpan(start).Clear();
            }
            return true;
        }
        if (inode.ExtraSize == 0 || start + 4 > inode.Raw.Length)
        {
            return false;
        }
        var area = new byte[inode.Raw.Length - start - 4];
        if (!Lay(area, 0, area.Length, entries, valueBase: 0))
        {
            return false;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(inode.Raw.AsSpan(start), Magic);
        area.CopyTo(inode.Raw.AsSpan(start + 4));
        return true;
    }

    /// <summary>
    /// Lays the entries out in a new attribute block of one reference (header, sorted entries, values
    /// from the end, entry and block hashes); the checksum is the caller's, which knows the block number.
    /// </summary>
    public static bool WriteBlockEntries(byte[] block, IReadOnlyList<Entry> entries)
    {
        var sorted = entries.OrderBy(e => e.Index).ThenBy(e => e.Name.Length).ThenBy(e => e.Name, Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b))).ToList();
        if (!Lay(block, BlockHeader, block.Length, sorted, valueBase: 0))
        {
            return false;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(block, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(4), 1); // h_refcount
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(8), 1); // h_blocks
        // ext2fs_ext_attr_block_rehash: the entry hashes folded together.
        uint hash = 0;
        foreach (var e in sorted)
        {
            hash = (hash << 16) ^ (hash >> 16) ^ Hash(e.Name, e.Value);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(0xC), hash);
        return true;
    }

    /// <summary>Entries from <paramref name="first"/>, a zero word after them, values from <paramref name="end"/> down; offsets relative to <paramref name="valueBase"/>.</summary>
    private static bool Lay(Span<byte> target, int first, int end, IReadOnlyList<Entry> entries, int valueBase)
    {
        int names = 0, values = 0;
        foreach (var e in entries)
        {
            names += Pad(EntryHeader + e.Name.Length);
            values += Pad(e.Value.Length);
        }
        if (first + names + 4 + values > end)
        {
            return false;
        }
        int offset = first, valueEnd = end;
        foreach (var e in entries)
        {
            int valueAt = 0;
            if (e.Value.Length > 0)
            {
                valueEnd -= Pad(e.Value.Length);
                valueAt = valueEnd;
                e.Value.CopyTo(target[valueAt..]);
            }
            target[offset] = (byte)e.Name.Length;
            target[offset + 1] = e.Index;
            BinaryPrimitives.WriteUInt16LittleEndian(target[(offset + 2)..], (ushort)(e.Value.Length > 0 ? valueAt - valueBase : 0));
            BinaryPrimitives.WriteUInt32LittleEndian(target[(offset + 4)..], 0);
            BinaryPrimitives.WriteUInt32LittleEndian(target[(offset + 8)..], (uint)e.Value.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(target[(offset + 12)..], Hash(e.Name, e.Value));
            e.Name.CopyTo(target[(offset + EntryHeader)..]);
            offset += Pad(EntryHeader + e.Name.Length);
        }
        return true;
    }

    public static Dictionary<string, byte[]> Read(Ext4FileSystem fs, Ext4Inode inode)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        int inInodeStart = 128 + inode.ExtraSize;
        if (inode.ExtraSize > 0 && inInodeStart + 4 <= inode.Raw.Length && BinaryPrimitives.ReadUInt32LittleEndian(inode.Raw.AsSpan(inInodeStart)) == Magic)
        {
            var area = inode.Raw.AsSpan(inInodeStart + 4);
            ParseEntries(fs, inode, area, area, result);
        }
        if (inode.FileAcl != 0)
        {
            fs.CheckBlockRange(inode.FileAcl, 1, inode.Number);
            byte[] block = fs.ReadBlock(inode.FileAcl);
            if (BinaryPrimitives.ReadUInt32LittleEndian(block) != Magic)
            {
                throw fs.Damaged($"inode {inode.Number} has an extended attribute block {inode.FileAcl} without the attribute magic");
            }
            if (fs.Superblock.HasMetadataCsum && BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(0x10)) != fs.XattrBlockChecksum(inode.FileAcl, block))
            {
                throw fs.Damaged($"inode {inode.Number} has an extended attribute block {inode.FileAcl} that fails its checksum");
            }
            ParseEntries(fs, inode, block.AsSpan(32), block, result);
        }
        return result;
    }

    /// <summary>The value of system.data, where inline data beyond the first 60 bytes lives.</summary>
    public static byte[]? InlineDataTail(Ext4FileSystem fs, Ext4Inode inode)
    {
        var all = Read(fs, inode);
        return all.TryGetValue("system.data", out var v) ? v : null;
    }

    private static void ParseEntries(Ext4FileSystem fs, Ext4Inode inode, ReadOnlySpan<byte> entries, ReadOnlySpan<byte> valueBase, Dictionary<string, byte[]> result)
    {
        int offset = 0;
        while (offset + 4 <= entries.Length && BinaryPrimitives.ReadUInt32LittleEndian(entries[offset..]) != 0)
        {
            if (offset + 16 > entries.Length)
            {
                throw fs.Damaged($"inode {inode.Number} has a truncated extended attribute entry");
            }
            int nameLen = entries[offset];
            byte index = entries[offset + 1];
            int valueOffset = BinaryPrimitives.ReadUInt16LittleEndian(entries[(offset + 2)..]);
            uint valueInode = BinaryPrimitives.ReadUInt32LittleEndian(entries[(offset + 4)..]);
            uint valueSize = BinaryPrimitives.ReadUInt32LittleEndian(entries[(offset + 8)..]);
            if (offset + 16 + nameLen > entries.Length)
            {
                throw fs.Damaged($"inode {inode.Number} has an extended attribute name past its area");
            }
            string name = Prefix(index) + Encoding.UTF8.GetString(entries.Slice(offset + 16, nameLen));
            if (valueInode != 0)
            {
                // Values stored in their own inode (ea_inode) are listed but not read here.
                result[name] = [];
            }
            else
            {
                if (valueSize > (uint)valueBase.Length || valueOffset > valueBase.Length - (int)valueSize)
                {
                    throw fs.Damaged($"inode {inode.Number} has an extended attribute value outside its area");
                }
                result[name] = valueBase.Slice(valueOffset, (int)valueSize).ToArray();
            }
            offset += (16 + nameLen + 3) & ~3;
        }
    }
}
