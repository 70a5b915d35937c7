using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// Directory data blocks (xfs_dir2_data / xfs_dir3_data): the single block of a block-form
/// directory ("XDB3"/"XD2B", entries followed by the leaf array and tail) and the data blocks of
/// leaf, node and btree directories ("XDD3"/"XD2D"). Entries and free spaces tile the data area;
/// each carries its own offset as a tag, which is checked.
/// </summary>
internal static class XfsDirData
{
    public const uint BlockMagicV5 = 0x58444233, BlockMagicV4 = 0x58443242; // "XDB3", "XD2B"
    public const uint DataMagicV5 = 0x58444433, DataMagicV4 = 0x58443244;   // "XDD3", "XD2D"
    public const int HeaderV5 = 64, HeaderV4 = 16, CrcOffset = 4, OwnerOffset = 40;
    public const ushort FreeTag = 0xFFFF;

    /// <summary>Adds the entries of one directory block (<paramref name="isBlockForm"/>: the only block of a block-form directory).</summary>
    public static void Read(XfsFileSystem fs, XfsInode dir, byte[] block, ulong dirBlock, bool isBlockForm, List<XfsDirEntry> result)
    {
        var sb = fs.Superblock;
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(block);
        uint expected = isBlockForm ? (sb.IsV5 ? BlockMagicV5 : BlockMagicV4) : (sb.IsV5 ? DataMagicV5 : DataMagicV4);
        if (magic != expected)
        {
            throw fs.Damaged($"directory inode {dir.Number} has block {dirBlock} with magic 0x{magic:X8} where 0x{expected:X8} belongs");
        }
        if (sb.IsV5 && (!XfsChecksum.Verify(block, CrcOffset) || BinaryPrimitives.ReadUInt64BigEndian(block.AsSpan(OwnerOffset)) != dir.Number ||
            !block.AsSpan(24, 16).SequenceEqual(sb.MetadataUuid)))
        {
            throw fs.Damaged($"directory inode {dir.Number} has block {dirBlock} that fails its checksum or names another owner");
        }
        int end = block.Length;
        if (isBlockForm)
        {
            uint leafCount = BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(block.Length - 8));
            if (leafCount > (uint)(block.Length / 8))
            {
                throw fs.Damaged($"block directory inode {dir.Number} claims {leafCount} leaf entries");
            }
            end = block.Length - 8 - ((int)leafCount * 8);
        }
        int p = sb.IsV5 ? HeaderV5 : HeaderV4;
        bool ftype = sb.HasFtype;
        while (p < end)
        {
            if (p + 8 > end)
            {
                throw fs.Damaged($"directory inode {dir.Number} block {dirBlock} has a truncated entry at {p}");
            }
            if (BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(p)) == FreeTag)
            {
                int length = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(p + 2));
                if (length < 8 || length % 8 != 0 || p + length > end || BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(p + length - 2)) != p)
                {
                    throw fs.Damaged($"directory inode {dir.Number} block {dirBlock} has a bad free region at {p}");
                }
                p += length;
                continue;
            }
            ulong ino = BinaryPrimitives.ReadUInt64BigEndian(block.AsSpan(p));
            int nameLength = block[p + 8];
            int size = EntrySize(nameLength, ftype);
            if (nameLength == 0 || p + size > end || BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(p + size - 2)) != p)
            {
                throw fs.Damaged($"directory inode {dir.Number} block {dirBlock} has a bad entry at {p}");
            }
            string name = Encoding.UTF8.GetString(block.AsSpan(p + 9, nameLength));
            byte type = ftype ? block[p + 9 + nameLength] : XfsDirEntry.TypeUnknown;
            if (name != ".")
            {
                result.Add(new XfsDirEntry(name, ino, type));
            }
            p += size;
        }
    }

    /// <summary>An entry's size: inode number, name length, name, file type, tag, rounded to 8.</summary>
    public static int EntrySize(int nameLength, bool ftype) => (8 + 1 + nameLength + (ftype ? 1 : 0) + 2 + 7) & ~7;
}
