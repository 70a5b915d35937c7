using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>struct btrfs_inode_item: the fields the SDK reports.</summary>
internal readonly record struct BtrfsInodeItem(ulong Size, uint Links, uint Uid, uint Gid, uint Mode, ulong Flags)
{
    public const int Length = 160;
    public const ulong FlagNoDataSum = 1 << 0;

    public static BtrfsInodeItem? Parse(ReadOnlySpan<byte> b) => b.Length < Length ? null : new BtrfsInodeItem(
        BinaryPrimitives.ReadUInt64LittleEndian(b[16..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[40..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[44..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[48..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[52..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[64..]));

    public FileSystemNodeKind Kind => (Mode & 0xF000) switch
    {
        0x8000 => FileSystemNodeKind.File,
        0x4000 => FileSystemNodeKind.Directory,
        0xA000 => FileSystemNodeKind.Symlink,
        _ => FileSystemNodeKind.Other,
    };
}

/// <summary>One entry of a DIR_ITEM, DIR_INDEX or XATTR_ITEM (struct btrfs_dir_item, then name, then data).</summary>
internal readonly record struct BtrfsDirEntry(BtrfsKey Location, byte Type, ReadOnlyMemory<byte> Name, ReadOnlyMemory<byte> Data)
{
    public const int HeaderSize = 30;
    public const int MaxNameLength = 255;

    public const byte TypeRegular = 1;
    public const byte TypeDirectory = 2;
    public const byte TypeSymlink = 7;
    public const byte TypeXattr = 8;

    public FileSystemNodeKind Kind => Type switch
    {
        TypeRegular => FileSystemNodeKind.File,
        TypeDirectory => FileSystemNodeKind.Directory,
        TypeSymlink => FileSystemNodeKind.Symlink,
        _ => FileSystemNodeKind.Other,
    };

    /// <summary>The entries packed in one item (names whose hashes collide share an item); null when they overrun it.</summary>
    public static List<BtrfsDirEntry>? ParseAll(ReadOnlyMemory<byte> item, int maxData)
    {
        var entries = new List<BtrfsDirEntry>(1);
        int pos = 0;
        var span = item.Span;
        // Every entry takes at least its header, so the loop ends within the item.
        while (pos < span.Length)
        {
            if (span.Length - pos < HeaderSize)
            {
                return null;
            }
            var e = span[pos..];
            int dataLength = BinaryPrimitives.ReadUInt16LittleEndian(e[25..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(e[27..]);
            if (nameLength == 0 || nameLength > MaxNameLength || dataLength > maxData || HeaderSize + nameLength + dataLength > e.Length)
            {
                return null;
            }
            entries.Add(new BtrfsDirEntry(
                BtrfsKey.Read(e),
                e[29],
                item.Slice(pos + HeaderSize, nameLength),
                item.Slice(pos + HeaderSize + nameLength, dataLength)));
            pos += HeaderSize + nameLength + dataLength;
        }
        return entries;
    }
}

/// <summary>struct btrfs_root_item: where a tree (a subvolume, the extent tree, ...) starts.</summary>
internal readonly record struct BtrfsRootItem(ulong Generation, ulong RootDirId, ulong Bytenr, uint Refs, byte Level)
{
    /// <summary>Root items written before generation_v2 end after the level.</summary>
    public const int MinLength = 239;

    public static BtrfsRootItem? Parse(ReadOnlySpan<byte> b) => b.Length < MinLength ? null : new BtrfsRootItem(
        BinaryPrimitives.ReadUInt64LittleEndian(b[160..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[168..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[176..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[216..]),
        b[238]);
}

/// <summary>struct btrfs_file_extent_item.</summary>
internal readonly record struct BtrfsFileExtent(
    ulong Generation, ulong RamBytes, byte Compression, byte Encryption, ushort OtherEncoding, byte Type,
    ulong DiskBytenr, ulong DiskNumBytes, ulong Offset, ulong NumBytes)
{
    public const int InlineHeaderSize = 21;
    public const int RegularSize = 53;

    public const byte TypeInline = 0;
    public const byte TypeRegular = 1;
    public const byte TypePrealloc = 2;

    public const byte CompressionNone = 0;
    public const byte CompressionZlib = 1;
    public const byte CompressionLzo = 2;
    public const byte CompressionZstd = 3;

    public static BtrfsFileExtent? Parse(ReadOnlySpan<byte> b)
    {
        if (b.Length < InlineHeaderSize)
        {
            return null;
        }
        byte type = b[20];
        if (type != TypeInline && b.Length < RegularSize)
        {
            return null;
        }
        bool inline = type == TypeInline;
        return new BtrfsFileExtent(
            BinaryPrimitives.ReadUInt64LittleEndian(b),
            BinaryPrimitives.ReadUInt64LittleEndian(b[8..]),
            b[16],
            b[17],
            BinaryPrimitives.ReadUInt16LittleEndian(b[18..]),
            type,
            inline ? 0 : BinaryPrimitives.ReadUInt64LittleEndian(b[21..]),
            inline ? 0 : BinaryPrimitives.ReadUInt64LittleEndian(b[29..]),
            inline ? 0 : BinaryPrimitives.ReadUInt64LittleEndian(b[37..]),
            inline ? 0 : BinaryPrimitives.ReadUInt64LittleEndian(b[45..]));
    }
}

/// <summary>One inline back reference of an extent item.</summary>
internal readonly record struct BtrfsExtentRef(byte Type, ulong Root, ulong ObjectId, ulong Offset, uint Count, int Position, int Length);

/// <summary>struct btrfs_extent_item (refs, generation, flags), the tree_block_info of a full tree block item, then inline references.</summary>
internal sealed record BtrfsExtentItem(ulong RefCount, ulong Generation, ulong Flags, List<BtrfsExtentRef> Refs)
{
    public const int HeaderSize = 24;
    public const ulong FlagData = 1;
    public const ulong FlagTreeBlock = 2;

    /// <summary>The item's references; null when they overrun it or have an unknown type.</summary>
    public static BtrfsExtentItem Parse(ReadOnlySpan<byte> b, bool fullItem)
    {
        ulong flags = BinaryPrimitives.ReadUInt64LittleEndian(b[16..]);
        int pos = HeaderSize + (fullItem && (flags & FlagTreeBlock) != 0 ? 18 : 0);
        var refs = new List<BtrfsExtentRef>();
        // Each reference takes at least 9 bytes, so the loop ends within the item.
        while (pos < b.Length)
        {
            byte type = b[pos];
            int length = type switch
            {
                BtrfsItem.TreeBlockRef or BtrfsItem.SharedBlockRef or BtrfsItem.ExtentOwnerRef => 9,
                BtrfsItem.ExtentDataRef => 29,
                BtrfsItem.SharedDataRef => 13,
                _ => 0,
            };
            if (length == 0 || pos + length > b.Length)
            {
                refs.Add(new BtrfsExtentRef(0, 0, 0, 0, 0, pos, b.Length - pos));
                break;
            }
            var r = b[(pos + 1)..];
            refs.Add(type switch
            {
                BtrfsItem.ExtentDataRef => new BtrfsExtentRef(type, BinaryPrimitives.ReadUInt64LittleEndian(r), BinaryPrimitives.ReadUInt64LittleEndian(r[8..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(r[16..]), BinaryPrimitives.ReadUInt32LittleEndian(r[24..]), pos, length),
                BtrfsItem.SharedDataRef => new BtrfsExtentRef(type, BinaryPrimitives.ReadUInt64LittleEndian(r), 0, 0, BinaryPrimitives.ReadUInt32LittleEndian(r[8..]), pos, length),
                _ => new BtrfsExtentRef(type, BinaryPrimitives.ReadUInt64LittleEndian(r), 0, 0, 1, pos, length),
            });
            pos += length;
        }
        return new BtrfsExtentItem(BinaryPrimitives.ReadUInt64LittleEndian(b), BinaryPrimitives.ReadUInt64LittleEndian(b[8..]), flags, refs);
    }
}
