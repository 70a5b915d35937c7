using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>Reads extended attributes from the inode's extra space and from the attribute block.</summary>
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
