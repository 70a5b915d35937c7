using System.Buffers.Binary;
using Azure.LinuxImage.Engine.IO;
using System.Text;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// The ext2/3/4 superblock, kept as its raw 1024 bytes so that writing it back changes only the
/// fields we mean to change (every field we do not understand survives byte for byte).
/// </summary>
public sealed class Ext4Superblock
{
    public const int Offset = 1024;
    public const int Size = 1024;
    public const ushort Magic = 0xEF53;

    // Feature bits we know by name, so that the refusal message can say which ones are unknown.
    public const uint CompatHasJournal = 0x4, CompatExtAttr = 0x8, CompatResizeInode = 0x10, CompatDirIndex = 0x20, CompatSparseSuper2 = 0x200,
        CompatFastCommit = 0x400, CompatStableInodes = 0x800, CompatOrphanFile = 0x1000, CompatDirPrealloc = 0x1, CompatImagic = 0x2, CompatLazyBg = 0x40, CompatExcludeBitmap = 0x100;

    public const uint IncompatCompression = 0x1, IncompatFiletype = 0x2, IncompatRecover = 0x4, IncompatJournalDev = 0x8, IncompatMetaBg = 0x10,
        IncompatExtents = 0x40, Incompat64Bit = 0x80, IncompatMmp = 0x100, IncompatFlexBg = 0x200, IncompatEaInode = 0x400, IncompatDirData = 0x1000,
        IncompatCsumSeed = 0x2000, IncompatLargeDir = 0x4000, IncompatInlineData = 0x8000, IncompatEncrypt = 0x10000, IncompatCasefold = 0x20000;

    public const uint RoCompatSparseSuper = 0x1, RoCompatLargeFile = 0x2, RoCompatBtreeDir = 0x4, RoCompatHugeFile = 0x8, RoCompatGdtCsum = 0x10,
        RoCompatDirNlink = 0x20, RoCompatExtraIsize = 0x40, RoCompatHasSnapshot = 0x80, RoCompatQuota = 0x100, RoCompatBigalloc = 0x200,
        RoCompatMetadataCsum = 0x400, RoCompatReplica = 0x800, RoCompatReadonly = 0x1000, RoCompatProject = 0x2000, RoCompatSharedBlocks = 0x4000,
        RoCompatVerity = 0x8000, RoCompatOrphanPresent = 0x10000;

    private readonly byte[] raw;

    private Ext4Superblock(byte[] raw) => this.raw = raw;

    public static bool Probe(IO.IReadableVolume volume)
    {
        if (volume.Length < Offset + Size)
        {
            return false;
        }
        Span<byte> magic = stackalloc byte[2];
        volume.ReadAt(Offset + 0x38, magic);
        return BinaryPrimitives.ReadUInt16LittleEndian(magic) == Magic;
    }

    /// <summary>Parses and sanity-checks the superblock; returns null with a reason when it is not usable.</summary>
    public static Ext4Superblock? TryParse(ReadOnlySpan<byte> bytes, out string? problem)
    {
        var sb = new Ext4Superblock(bytes[..Size].ToArray());
        problem = sb.Validate();
        return problem is null ? sb : null;
    }

    private string? Validate()
    {
        if (U16(0x38) != Magic)
        {
            return "no ext2/3/4 superblock magic";
        }
        if (U32(0x18) > 6)
        {
            return $"block size exponent {U32(0x18)} is out of range";
        }
        if (RevisionLevel > 1)
        {
            return $"revision level {RevisionLevel} is unknown";
        }
        // The bitmap counts clusters: with bigalloc a group holds more blocks than its bitmap has bits.
        bool bigalloc = (FeatureRoCompat & RoCompatBigalloc) != 0;
        uint clustersPerGroup = bigalloc ? U32(0x24) : BlocksPerGroup;
        int clusterShift = bigalloc ? (int)U32(0x1C) - (int)U32(0x18) : 0;
        if (BlocksPerGroup == 0 || clustersPerGroup == 0 || clustersPerGroup > BlockSize * 8 || clustersPerGroup % 8 != 0 ||
            clusterShift < 0 || clusterShift > 16 || (ulong)clustersPerGroup << clusterShift != BlocksPerGroup)
        {
            return $"{BlocksPerGroup} blocks per group does not fit a {BlockSize}-byte bitmap";
        }
        if (InodesPerGroup == 0 || InodesPerGroup > BlockSize * 8 || InodesPerGroup % 8 != 0)
        {
            return $"{InodesPerGroup} inodes per group does not fit a {BlockSize}-byte bitmap";
        }
        if (InodeSize < 128 || InodeSize > BlockSize || (InodeSize & (InodeSize - 1)) != 0)
        {
            return $"inode size {InodeSize} is invalid";
        }
        if (BlocksCount == 0 || FirstDataBlock >= BlocksCount || FirstDataBlock != (BlockSize == 1024 ? 1u : 0u) && FirstDataBlock != 0)
        {
            return "the block count or first data block is invalid";
        }
        if (Is64Bit && (DescriptorSize < 64 || DescriptorSize > 1024 || (DescriptorSize & (DescriptorSize - 1)) != 0))
        {
            return $"descriptor size {DescriptorSize} is invalid";
        }
        long groups = GroupCount;
        if (groups * (long)InodesPerGroup != InodesCount)
        {
            return $"{InodesCount} inodes do not match {groups} groups of {InodesPerGroup}";
        }
        if (FirstInode < 11 && RevisionLevel > 0 || FirstInode >= InodesCount)
        {
            return $"first non-reserved inode {FirstInode} is invalid";
        }
        if (HasMetadataCsum && ComputeChecksum() != StoredChecksum)
        {
            return $"superblock checksum mismatch (stored 0x{StoredChecksum:X8}, computed 0x{ComputeChecksum():X8})";
        }
        return null;
    }

    public byte[] Raw => raw;

    private ushort U16(int o) => BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(o));

    private uint U32(int o) => BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(o));

    private void SetU32(int o, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(o), v);

    public uint InodesCount => U32(0x0);

    public ulong BlocksCount => U32(0x4) | (Is64Bit ? (ulong)U32(0x150) << 32 : 0);

    public ulong FreeBlocksCount
    {
        get => U32(0xC) | (Is64Bit ? (ulong)U32(0x158) << 32 : 0);
        set
        {
            SetU32(0xC, (uint)value);
            if (Is64Bit)
            {
                SetU32(0x158, (uint)(value >> 32));
            }
        }
    }

    public uint FreeInodesCount { get => U32(0x10); set => SetU32(0x10, value); }

    public uint FirstDataBlock => U32(0x14);

    public int BlockSize => 1024 << (int)U32(0x18);

    public uint BlocksPerGroup => U32(0x20);

    public uint InodesPerGroup => U32(0x28);

    public ushort State => U16(0x3A);

    public uint RevisionLevel => U32(0x4C);

    public uint FirstInode => RevisionLevel == 0 ? 11 : U32(0x54);

    public int InodeSize => RevisionLevel == 0 ? 128 : U16(0x58);

    public uint FeatureCompat => U32(0x5C);

    public uint FeatureIncompat => U32(0x60);

    public uint FeatureRoCompat => U32(0x64);

    public Guid Uuid => new(raw.AsSpan(0x68, 16), bigEndian: true);

    public ReadOnlySpan<byte> UuidBytes => raw.AsSpan(0x68, 16);

    public string Label => Encoding.UTF8.GetString(raw.AsSpan(0x78, 16)).TrimEnd('\0');

    public ushort ReservedGdtBlocks => U16(0xCE);

    public uint JournalInode => U32(0xE0);

    public uint LastOrphan => U32(0xE8);

    public byte DefaultHashVersion => raw[0xFC];

    public int DescriptorSize => Is64Bit ? U16(0xFE) : 32;

    public uint FirstMetaBg => U32(0x104);

    public ushort WantExtraInodeSize => U16(0x15E);

    public uint Flags => U32(0x160);

    public int LogGroupsPerFlex => raw[0x174];

    public uint ChecksumSeedField => U32(0x270);

    public uint BackupBgs0 => U32(0x24C);

    public uint BackupBgs1 => U32(0x250);

    public uint StoredChecksum => U32(0x3FC);

    public bool Is64Bit => (FeatureIncompat & Incompat64Bit) != 0;

    public bool HasMetadataCsum => (FeatureRoCompat & RoCompatMetadataCsum) != 0;

    public bool HasGdtCsum => (FeatureRoCompat & RoCompatGdtCsum) != 0;

    public bool HasExtents => (FeatureIncompat & IncompatExtents) != 0;

    public bool HasFiletype => (FeatureIncompat & IncompatFiletype) != 0;

    public uint GroupCount => (uint)((BlocksCount - FirstDataBlock + BlocksPerGroup - 1) / BlocksPerGroup);

    public uint ComputeChecksum() => Crc32C.Update(~0u, raw.AsSpan(0, 0x3FC));

    public void UpdateChecksum()
    {
        if (HasMetadataCsum)
        {
            SetU32(0x3FC, ComputeChecksum());
        }
    }
}
