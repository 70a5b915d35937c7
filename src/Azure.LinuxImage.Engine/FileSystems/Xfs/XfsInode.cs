using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>The data or attribute fork formats of an inode (di_format, di_aformat).</summary>
public enum XfsForkFormat : byte
{
    Device = 0,
    Local = 1,
    Extents = 2,
    Btree = 3,
}

/// <summary>
/// One on-disk inode (xfs_dinode), v1/v2 (100-byte core) or v3 (176-byte core with CRC), kept raw
/// at its full size. The literal area after the core holds the data fork and, from di_forkoff,
/// the attribute fork.
/// </summary>
public sealed class XfsInode
{
    public const ushort Magic = 0x494E; // "IN"
    public const int V3CoreSize = 176, V2CoreSize = 100, CrcOffset = 100;
    public const int ModeTypeMask = 0xF000, ModeFile = 0x8000, ModeDirectory = 0x4000, ModeSymlink = 0xA000;
    public const ulong Flags2Reflink = 0x2, Flags2Nrext64 = 0x10;
    public const ushort FlagRealtime = 0x1;

    internal XfsInode(ulong number, byte[] raw)
    {
        Number = number;
        Raw = raw;
    }

    public ulong Number { get; }

    internal byte[] Raw { get; }

    private ushort U16(int o) => BinaryPrimitives.ReadUInt16BigEndian(Raw.AsSpan(o));

    private uint U32(int o) => BinaryPrimitives.ReadUInt32BigEndian(Raw.AsSpan(o));

    private ulong U64(int o) => BinaryPrimitives.ReadUInt64BigEndian(Raw.AsSpan(o));

    public ushort MagicField => U16(0);

    public int Mode => U16(2);

    public int Version => Raw[4];

    public XfsForkFormat Format => (XfsForkFormat)Raw[5];

    public int Uid => (int)U32(8);

    public int Gid => (int)U32(12);

    /// <summary>di_nlink (v2+), or di_onlink on a v1 inode.</summary>
    public uint Links => Version == 1 ? U16(6) : U32(16);

    public long Size => (long)U64(56);

    public ulong BlockCount => U64(64);

    public ushort Flags => U16(90);

    public uint Generation => U32(92);

    public ulong Flags2 => Version >= 3 ? U64(120) : 0;

    /// <summary>Extents in the data fork (di_big_nextents with nrext64, else di_nextents).</summary>
    public ulong DataExtents => (Flags2 & Flags2Nrext64) != 0 ? U64(24) : U32(76);

    /// <summary>Extents in the attribute fork (di_big_anextents with nrext64, else di_anextents).</summary>
    public ulong AttrExtents => (Flags2 & Flags2Nrext64) != 0 ? U32(76) : U16(80);

    public int ForkOffset => Raw[82] * 8;

    public XfsForkFormat AttrFormat => (XfsForkFormat)Raw[83];

    public ulong StoredNumber => U64(152);

    public int CoreSize => Version >= 3 ? V3CoreSize : V2CoreSize;

    public int FileType => Mode & ModeTypeMask;

    public bool IsDirectory => FileType == ModeDirectory;

    public bool IsRegular => FileType == ModeFile;

    public bool IsSymlink => FileType == ModeSymlink;

    public bool HasAttrFork => Raw[82] != 0;

    /// <summary>The data fork's bytes in the inode's literal area.</summary>
    public ReadOnlySpan<byte> DataFork => Raw.AsSpan(CoreSize, (HasAttrFork ? ForkOffset : Raw.Length - CoreSize));

    /// <summary>The attribute fork's bytes in the inode's literal area (empty without one).</summary>
    public ReadOnlySpan<byte> AttrFork => HasAttrFork ? Raw.AsSpan(CoreSize + ForkOffset) : [];

    /// <summary>Checks the core against the file system before any fork is trusted; returns the problem or null.</summary>
    internal string? Check(XfsSuperblock sb)
    {
        if (MagicField != Magic)
        {
            return "has no inode magic";
        }
        if (sb.IsV5 ? Version != 3 : Version is not (1 or 2))
        {
            return $"has version {Version} on a v{sb.Version} file system";
        }
        if (Version >= 3)
        {
            if (!XfsChecksum.Verify(Raw, CrcOffset))
            {
                return "fails its checksum";
            }
            if (StoredNumber != Number || !Raw.AsSpan(160, 16).SequenceEqual(sb.MetadataUuid))
            {
                return $"records number {StoredNumber} or a foreign file system UUID";
            }
        }
        if (HasAttrFork && CoreSize + ForkOffset >= Raw.Length)
        {
            return $"has an attribute fork offset {ForkOffset} beyond the inode";
        }
        if ((Flags2 & Flags2Nrext64) != 0 && !sb.HasNrext64)
        {
            return "uses large extent counters on a file system without nrext64";
        }
        if (Size < 0)
        {
            return $"has a negative size {Size}";
        }
        return null;
    }
}
