using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>The (objectid, type, offset) triple every btrfs tree is sorted by.</summary>
internal readonly record struct BtrfsKey(ulong ObjectId, byte Type, ulong Offset) : IComparable<BtrfsKey>
{
    public const int Size = 17;

    public static BtrfsKey Read(ReadOnlySpan<byte> b) =>
        new(BinaryPrimitives.ReadUInt64LittleEndian(b), b[8], BinaryPrimitives.ReadUInt64LittleEndian(b[9..]));

    public int CompareTo(BtrfsKey other)
    {
        int c = ObjectId.CompareTo(other.ObjectId);
        if (c != 0)
        {
            return c;
        }
        c = Type.CompareTo(other.Type);
        return c != 0 ? c : Offset.CompareTo(other.Offset);
    }

    public static bool operator <(BtrfsKey a, BtrfsKey b) => a.CompareTo(b) < 0;

    public static bool operator >(BtrfsKey a, BtrfsKey b) => a.CompareTo(b) > 0;

    public static bool operator <=(BtrfsKey a, BtrfsKey b) => a.CompareTo(b) <= 0;

    public static bool operator >=(BtrfsKey a, BtrfsKey b) => a.CompareTo(b) >= 0;

    public override string ToString() => $"({ObjectId} {Type} {Offset})";
}

/// <summary>Item types and well-known object ids (include/uapi/linux/btrfs_tree.h).</summary>
internal static class BtrfsItem
{
    public const byte InodeItem = 1;
    public const byte InodeRef = 12;
    public const byte XattrItem = 24;
    public const byte DirItem = 84;
    public const byte DirIndex = 96;
    public const byte ExtentData = 108;
    public const byte ExtentCsum = 128;
    public const byte RootItem = 132;
    public const byte RootBackref = 144;
    public const byte RootRef = 156;
    public const byte ExtentItem = 168;
    public const byte MetadataItem = 169;
    public const byte ExtentOwnerRef = 172;
    public const byte TreeBlockRef = 176;
    public const byte ExtentDataRef = 178;
    public const byte SharedBlockRef = 182;
    public const byte SharedDataRef = 184;
    public const byte BlockGroupItem = 192;
    public const byte FreeSpaceInfo = 198;
    public const byte FreeSpaceExtent = 199;
    public const byte FreeSpaceBitmap = 200;
    public const byte DevExtent = 204;
    public const byte DevItem = 216;
    public const byte ChunkItem = 228;

    public const ulong RootTreeObjectId = 1;
    public const ulong DevItemsObjectId = 1;
    public const ulong ExtentTreeObjectId = 2;
    public const ulong ChunkTreeObjectId = 3;
    public const ulong DevTreeObjectId = 4;
    public const ulong FsTreeObjectId = 5;
    public const ulong RootTreeDirObjectId = 6;
    public const ulong CsumTreeObjectId = 7;
    public const ulong FreeSpaceTreeObjectId = 10;
    public const ulong BlockGroupTreeObjectId = 11;
    public const ulong FirstFreeObjectId = 256;
    public const ulong LastFreeObjectId = unchecked((ulong)-256L);
    public const ulong FirstChunkTreeObjectId = 256;
    public const ulong ExtentCsumObjectId = unchecked((ulong)-10L);

    /// <summary>The v1 space cache's header item of a block group: (FREE_SPACE_OBJECTID, 0, block group start) in the root tree.</summary>
    public const ulong FreeSpaceObjectId = unchecked((ulong)-11L);
    public const byte Untyped = 0;

    /// <summary>The inode number the kernel gives the stand-in for a subvolume a snapshot did not take along.</summary>
    public const ulong EmptySubvolumeDirObjectId = 2;
}
