using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// The primary superblock (xfs_dsb, sector 0 of AG 0), version 4 or 5. Only the fields the reader
/// needs are exposed; the raw sector is kept for the CRC.
/// </summary>
public sealed class XfsSuperblock
{
    public const uint Magic = 0x58465342; // "XFSB"
    public const int CrcOffset = 224;

    // sb_versionnum bits (v4) and sb_features2.
    public const ushort VersionNumberMask = 0x000F, VersionDirV2 = 0x2000, VersionMoreBits = 0x8000;
    public const uint Features2Ftype = 0x200;

    // v5 feature words.
    public const uint RoCompatFinobt = 0x1, RoCompatRmapbt = 0x2, RoCompatReflink = 0x4, RoCompatInobtCount = 0x8;
    public const uint IncompatFtype = 0x1, IncompatSparseInodes = 0x2, IncompatMetaUuid = 0x4, IncompatBigtime = 0x8,
        IncompatNeedsRepair = 0x10, IncompatNrext64 = 0x20;

    /// <summary>Incompatible features whose on-disk format this reader knows.</summary>
    public const uint ReadIncompat = IncompatFtype | IncompatSparseInodes | IncompatMetaUuid | IncompatBigtime | IncompatNrext64;

    private readonly byte[] raw;

    private XfsSuperblock(byte[] raw) => this.raw = raw;

    private uint U32(int o) => BinaryPrimitives.ReadUInt32BigEndian(raw.AsSpan(o));

    private ulong U64(int o) => BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(o));

    private ushort U16(int o) => BinaryPrimitives.ReadUInt16BigEndian(raw.AsSpan(o));

    public int BlockSize => (int)U32(4);

    public ulong DataBlocks => U64(8);

    public ulong RealtimeBlocks => U64(16);

    public ulong RealtimeExtents => U64(24);

    public Guid Uuid => new(raw.AsSpan(32, 16), bigEndian: true);

    public ulong LogStart => U64(48);

    public ulong RootInode => U64(56);

    public uint AgBlocks => U32(84);

    public uint AgCount => U32(88);

    public uint LogBlocks => U32(96);

    public ushort VersionNumber => U16(100);

    public int Version => VersionNumber & VersionNumberMask;

    public int SectorSize => U16(102);

    public int InodeSize => U16(104);

    public int InodesPerBlock => U16(106);

    public string Label => Encoding.UTF8.GetString(raw.AsSpan(108, 12)).TrimEnd('\0');

    public int BlockLog => raw[120];

    public int SectorLog => raw[121];

    public int InodeLog => raw[122];

    public int InodesPerBlockLog => raw[123];

    public int AgBlockLog => raw[124];

    public bool InProgress => raw[126] != 0;

    public ulong InodeCount => U64(128);

    public ulong FreeInodes => U64(136);

    public ulong FreeDataBlocks => U64(144);

    public int DirBlockLog => raw[192];

    public uint Features2 => U32(200);

    public uint FeaturesCompat => U32(208);

    public uint FeaturesRoCompat => U32(212);

    public uint FeaturesIncompat => U32(216);

    public uint FeaturesLogIncompat => U32(220);

    public uint StoredCrc => BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(CrcOffset));

    /// <summary>The UUID stamped into v5 metadata blocks (sb_meta_uuid when the UUID was changed after mkfs).</summary>
    public ReadOnlySpan<byte> MetadataUuid => IsV5 && (FeaturesIncompat & IncompatMetaUuid) != 0 ? raw.AsSpan(248, 16) : raw.AsSpan(32, 16);

    public bool IsV5 => Version == 5;

    public bool HasFtype => IsV5 ? (FeaturesIncompat & IncompatFtype) != 0 : (VersionNumber & VersionMoreBits) != 0 && (Features2 & Features2Ftype) != 0;

    public bool HasNrext64 => IsV5 && (FeaturesIncompat & IncompatNrext64) != 0;

    public int DirBlockSize => BlockSize << DirBlockLog;

    /// <summary>Parses and checks the geometry every later offset computation relies on; null with a reason when it cannot be used.</summary>
    public static XfsSuperblock? TryParse(byte[] sector, out string? problem)
    {
        problem = null;
        if (sector.Length < 512 || BinaryPrimitives.ReadUInt32BigEndian(sector) != Magic)
        {
            problem = "no XFS superblock magic";
            return null;
        }
        var sb = new XfsSuperblock(sector);
        if (sb.Version is not (4 or 5))
        {
            problem = $"superblock version {sb.Version} is not 4 or 5";
            return null;
        }
        if (sb.BlockLog is < 9 or > 16 || sb.BlockSize != 1 << sb.BlockLog)
        {
            problem = $"block size {sb.BlockSize} (log {sb.BlockLog}) is invalid";
            return null;
        }
        if (sb.SectorLog is < 9 or > 15 || sb.SectorSize != 1 << sb.SectorLog || sb.SectorSize > sb.BlockSize)
        {
            problem = $"sector size {sb.SectorSize} is invalid";
            return null;
        }
        if (sb.InodeLog is < 8 or > 11 || sb.InodeSize != 1 << sb.InodeLog || sb.InodeSize > sb.BlockSize ||
            sb.InodesPerBlockLog != sb.BlockLog - sb.InodeLog || sb.InodesPerBlock != 1 << sb.InodesPerBlockLog)
        {
            problem = $"inode size {sb.InodeSize} or inodes per block {sb.InodesPerBlock} is invalid";
            return null;
        }
        if (sb.IsV5 && sb.InodeSize < 512)
        {
            problem = $"inode size {sb.InodeSize} is too small for a v5 file system";
            return null;
        }
        if (sb.AgCount == 0 || sb.AgBlocks < 64 || sb.AgBlockLog is < 6 or > 31 || sb.AgBlocks > 1UL << sb.AgBlockLog ||
            (sb.AgBlockLog > 0 && sb.AgBlocks <= 1UL << (sb.AgBlockLog - 1)))
        {
            problem = $"allocation group geometry ({sb.AgCount} groups of {sb.AgBlocks} blocks, log {sb.AgBlockLog}) is invalid";
            return null;
        }
        ulong maxBlocks = (ulong)sb.AgCount * sb.AgBlocks;
        if (sb.DataBlocks == 0 || sb.DataBlocks > maxBlocks || sb.DataBlocks <= (ulong)(sb.AgCount - 1) * sb.AgBlocks)
        {
            problem = $"data block count {sb.DataBlocks} does not fit {sb.AgCount} groups of {sb.AgBlocks} blocks";
            return null;
        }
        if (sb.DirBlockLog > 8 || sb.DirBlockSize > 65536)
        {
            problem = $"directory block size {sb.BlockSize}<<{sb.DirBlockLog} is invalid";
            return null;
        }
        if (!sb.IsV5 && (sb.VersionNumber & VersionDirV2) == 0)
        {
            problem = "the file system uses version 1 directories";
            return null;
        }
        return sb;
    }

    internal ReadOnlySpan<byte> Raw => raw;
}
