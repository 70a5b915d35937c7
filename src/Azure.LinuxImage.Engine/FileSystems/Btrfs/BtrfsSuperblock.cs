using System.Buffers.Binary;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>
/// The btrfs superblock (fs/btrfs/accessors.h, struct btrfs_super_block): 4 KiB at 64 KiB, with
/// mirrors at 64 MiB and 256 GiB when the device reaches them. The kernel mounts from the primary
/// alone, and so does the SDK; the mirrors are checked so a write can later keep them in step.
/// </summary>
internal sealed class BtrfsSuperblock
{
    public const int Size = 4096;
    public const long PrimaryOffset = 0x10000;
    public static readonly long[] MirrorOffsets = [0x4000000, 0x4000000000];
    public static ReadOnlySpan<byte> Magic => "_BHRfS_M"u8;

    public const ulong IncompatMixedBackref = 1UL << 0;
    public const ulong IncompatDefaultSubvol = 1UL << 1;
    public const ulong IncompatMixedGroups = 1UL << 2;
    public const ulong IncompatCompressLzo = 1UL << 3;
    public const ulong IncompatCompressZstd = 1UL << 4;
    public const ulong IncompatBigMetadata = 1UL << 5;
    public const ulong IncompatExtendedIref = 1UL << 6;
    public const ulong IncompatRaid56 = 1UL << 7;
    public const ulong IncompatSkinnyMetadata = 1UL << 8;
    public const ulong IncompatNoHoles = 1UL << 9;
    public const ulong IncompatMetadataUuid = 1UL << 10;
    public const ulong IncompatRaid1C34 = 1UL << 11;
    public const ulong IncompatZoned = 1UL << 12;
    public const ulong IncompatExtentTreeV2 = 1UL << 13;
    public const ulong IncompatRaidStripeTree = 1UL << 14;
    public const ulong IncompatSimpleQuota = 1UL << 16;

    /// <summary>Incompatible features whose on-disk effects the reader handles (the rest change tree layouts it does not know).</summary>
    public const ulong ReadableIncompat = IncompatMixedBackref | IncompatDefaultSubvol | IncompatMixedGroups | IncompatCompressLzo
        | IncompatCompressZstd | IncompatBigMetadata | IncompatExtendedIref | IncompatSkinnyMetadata | IncompatNoHoles
        | IncompatMetadataUuid | IncompatSimpleQuota;

    public const ulong CompatRoFreeSpaceTree = 1UL << 0;
    public const ulong CompatRoFreeSpaceTreeValid = 1UL << 1;
    public const ulong CompatRoVerity = 1UL << 2;
    public const ulong CompatRoBlockGroupTree = 1UL << 3;

    private const ulong SuperFlagSeeding = 1UL << 32;
    private const ulong SuperFlagChangingFsid = 1UL << 35;
    private const ulong SuperFlagChangingFsidV2 = 1UL << 36;
    private const ulong SuperFlagChangingCsum = 1UL << 37;

    private readonly byte[] raw;

    private BtrfsSuperblock(byte[] raw)
    {
        this.raw = raw;
    }

    public ReadOnlySpan<byte> Raw => raw;

    /// <summary>After a commit: the superblock now on the volume (the copy every reader of this file system shares).</summary>
    public void Replace(ReadOnlySpan<byte> committed) => committed.CopyTo(raw);

    public ulong CacheGeneration => U64(0x22b);

    public Guid FsId => new(raw.AsSpan(0x20, 16), bigEndian: true);

    /// <summary>The id every tree block header carries: metadata_uuid when that feature is on, else the fsid.</summary>
    public ReadOnlySpan<byte> MetadataFsIdBytes => (IncompatFlags & IncompatMetadataUuid) != 0 ? raw.AsSpan(0x23b, 16) : raw.AsSpan(0x20, 16);

    public ulong Flags => U64(0x38);

    public ulong Generation => U64(0x48);

    public ulong RootTree => U64(0x50);

    public ulong ChunkRoot => U64(0x58);

    public ulong LogRoot => U64(0x60);

    public ulong TotalBytes => U64(0x70);

    public ulong BytesUsed => U64(0x78);

    public ulong NumDevices => U64(0x88);

    public uint SectorSize => U32(0x90);

    public uint NodeSize => U32(0x94);

    public uint SysChunkArraySize => U32(0xa0);

    public ulong ChunkRootGeneration => U64(0xa4);

    public ulong CompatRoFlags => U64(0xb4);

    public ulong IncompatFlags => U64(0xbc);

    public ushort CsumType => BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(0xc4));

    public byte RootLevel => raw[0xc6];

    public byte ChunkRootLevel => raw[0xc7];

    /// <summary>dev_item.devid: the device this superblock describes.</summary>
    public ulong DeviceId => U64(0xc9);

    public ulong DeviceTotalBytes => U64(0xc9 + 8);

    public string? Label
    {
        get
        {
            var label = raw.AsSpan(0x12b, 256);
            int end = label.IndexOf((byte)0);
            var bytes = end < 0 ? label : label[..end];
            return bytes.IsEmpty ? null : Encoding.UTF8.GetString(bytes);
        }
    }

    public ReadOnlySpan<byte> SysChunkArray => raw.AsSpan(0x32b, (int)Math.Min(SysChunkArraySize, 2048u));

    public bool IsSeeding => (Flags & SuperFlagSeeding) != 0;

    /// <summary>True when the magic is at the primary location; reads 8 bytes.</summary>
    public static bool Probe(IReadableVolume volume)
    {
        if (volume.Length < PrimaryOffset + Size)
        {
            return false;
        }
        Span<byte> magic = stackalloc byte[8];
        volume.ReadAt(PrimaryOffset + 0x40, magic);
        return magic.SequenceEqual(Magic);
    }

    /// <summary>The primary superblock, fully validated; damage and unsupported set-ups are LIMG errors.</summary>
    public static BtrfsSuperblock ReadPrimary(IReadableVolume volume, string path)
    {
        var sb = ReadAt(volume, PrimaryOffset, path, out string? problem);
        if (sb is null)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsDamaged, path, path, $"the primary superblock {problem}");
        }
        sb.CheckSupported(path);
        return sb;
    }

    /// <summary>The superblock copy at <paramref name="offset"/>, or null with the reason it is unusable.</summary>
    public static BtrfsSuperblock? ReadAt(IReadableVolume volume, long offset, string path, out string? problem)
    {
        if (volume.Length < offset + Size)
        {
            problem = $"at {offset} lies beyond the end of the volume ({volume.Length} bytes)";
            return null;
        }
        var raw = volume.ReadBytes(offset, Size);
        var sb = new BtrfsSuperblock(raw);
        problem = sb.Validate(offset);
        return problem is null ? sb : null;
    }

    private string? Validate(long offset)
    {
        if (!raw.AsSpan(0x40, 8).SequenceEqual(Magic))
        {
            return $"at {offset} has no btrfs magic";
        }
        var checksum = BtrfsChecksum.For(CsumType);
        if (checksum is not null && !checksum.Verify(raw.AsSpan(BtrfsChecksum.FieldSize), raw))
        {
            return $"at {offset} fails its {checksum.Name} checksum";
        }
        if (U64(0x30) != (ulong)offset)
        {
            return $"at {offset} records the offset {U64(0x30)}";
        }
        uint sector = SectorSize;
        uint node = NodeSize;
        if (sector < 4096 || sector > 65536 || (sector & (sector - 1)) != 0)
        {
            return $"at {offset} has an invalid sector size {sector}";
        }
        if (node < sector || node > 65536 || (node & (node - 1)) != 0)
        {
            return $"at {offset} has an invalid node size {node}";
        }
        if (RootTree % sector != 0 || ChunkRoot % sector != 0 || RootTree == 0 || ChunkRoot == 0)
        {
            return $"at {offset} has an unaligned root ({RootTree}) or chunk root ({ChunkRoot})";
        }
        if (SysChunkArraySize > 2048 || SysChunkArraySize < BtrfsKey.Size)
        {
            return $"at {offset} has an invalid system chunk array size {SysChunkArraySize}";
        }
        if (RootLevel >= BtrfsTree.MaxLevel || ChunkRootLevel >= BtrfsTree.MaxLevel)
        {
            return $"at {offset} has an invalid tree level";
        }
        if (NumDevices == 0 || TotalBytes == 0)
        {
            return $"at {offset} records no devices or no size";
        }
        return null;
    }

    private void CheckSupported(string path)
    {
        if (BtrfsChecksum.For(CsumType) is null)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsUnsupported, path, path,
                $"the {BtrfsChecksum.NameOf(CsumType)} checksum (the SDK verifies crc32c, xxhash64 and sha256)");
        }
        if (NumDevices != 1)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsUnsupported, path, path,
                $"the file system spans {NumDevices} devices (the SDK reads single-device btrfs only)");
        }
        if ((Flags & (SuperFlagChangingFsid | SuperFlagChangingFsidV2 | SuperFlagChangingCsum)) != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsUnsupported, path, path,
                "an interrupted 'btrfstune' (fsid or checksum change in progress)");
        }
        ulong unknown = IncompatFlags & ~ReadableIncompat;
        if (unknown != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsUnsupported, path, path,
                $"incompatible features 0x{unknown:x} ({DescribeIncompat(unknown)})");
        }
    }

    private static string DescribeIncompat(ulong bits)
    {
        var names = new List<string>();
        void Add(ulong bit, string name)
        {
            if ((bits & bit) != 0)
            {
                names.Add(name);
                bits &= ~bit;
            }
        }
        Add(IncompatRaid56, "raid56");
        Add(IncompatRaid1C34, "raid1c34");
        Add(IncompatZoned, "zoned");
        Add(IncompatExtentTreeV2, "extent tree v2");
        Add(IncompatRaidStripeTree, "raid stripe tree");
        if (bits != 0)
        {
            names.Add($"unknown 0x{bits:x}");
        }
        return string.Join(", ", names);
    }

    private ulong U64(int offset) => BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(offset));

    private uint U32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(offset));
}
