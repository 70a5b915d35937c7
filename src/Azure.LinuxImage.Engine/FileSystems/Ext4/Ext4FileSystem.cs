using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// An ext2/3/4 file system read from a volume and, when the volume is writable (an overlay in
/// practice), changed offline. Every change is checked against the features we implement before
/// anything is written; every on-disk number is checked before it is used as an offset or a size.
/// </summary>
public sealed partial class Ext4FileSystem
{
    public const uint RootInode = 2;

    // Feature sets this engine understands. Reading tolerates more than writing: a feature that only
    // changes how something is written (quota accounting, bigalloc clusters, meta_bg placement, ...)
    // makes the file system read-only to us.
    private const uint ReadIncompat = Ext4Superblock.IncompatFiletype | Ext4Superblock.IncompatRecover | Ext4Superblock.IncompatMetaBg |
        Ext4Superblock.IncompatExtents | Ext4Superblock.Incompat64Bit | Ext4Superblock.IncompatMmp | Ext4Superblock.IncompatFlexBg |
        Ext4Superblock.IncompatEaInode | Ext4Superblock.IncompatCsumSeed | Ext4Superblock.IncompatLargeDir | Ext4Superblock.IncompatInlineData |
        Ext4Superblock.IncompatEncrypt | Ext4Superblock.IncompatCasefold;

    private const uint WriteIncompat = Ext4Superblock.IncompatFiletype | Ext4Superblock.IncompatExtents | Ext4Superblock.Incompat64Bit |
        Ext4Superblock.IncompatFlexBg | Ext4Superblock.IncompatCsumSeed | Ext4Superblock.IncompatLargeDir | Ext4Superblock.IncompatInlineData;

    private const uint WriteRoCompat = Ext4Superblock.RoCompatSparseSuper | Ext4Superblock.RoCompatLargeFile | Ext4Superblock.RoCompatBtreeDir |
        Ext4Superblock.RoCompatHugeFile | Ext4Superblock.RoCompatGdtCsum | Ext4Superblock.RoCompatDirNlink | Ext4Superblock.RoCompatExtraIsize |
        Ext4Superblock.RoCompatMetadataCsum | Ext4Superblock.RoCompatProject | Ext4Superblock.RoCompatVerity;

    private const uint WriteCompat = Ext4Superblock.CompatDirPrealloc | Ext4Superblock.CompatImagic | Ext4Superblock.CompatHasJournal |
        Ext4Superblock.CompatExtAttr | Ext4Superblock.CompatResizeInode | Ext4Superblock.CompatDirIndex | Ext4Superblock.CompatLazyBg |
        Ext4Superblock.CompatSparseSuper2 | Ext4Superblock.CompatFastCommit | Ext4Superblock.CompatStableInodes | Ext4Superblock.CompatOrphanFile;

    private readonly IReadableVolume volume;

    // Where reads and writes go: the volume itself, or during a change the change's private layer,
    // so that a change that fails half-way leaves the volume exactly as it was.
    private IReadableVolume io;
    private readonly Ext4GroupDescriptors groups;
    private readonly uint csumSeed;
    private readonly Dictionary<uint, byte[]> blockBitmaps = [];
    private readonly Dictionary<uint, byte[]> inodeBitmaps = [];
    private readonly HashSet<uint> dirtyGroups = [];

    private Ext4FileSystem(IReadableVolume volume, string source, Ext4Superblock sb, Ext4GroupDescriptors groups, uint csumSeed)
    {
        this.volume = volume;
        io = volume;
        Source = source;
        Superblock = sb;
        this.groups = groups;
        this.csumSeed = csumSeed;
        BlockSize = sb.BlockSize;
    }

    /// <summary>Where messages say the file system is (the image and the partition or volume).</summary>
    public string Source { get; }

    public Ext4Superblock Superblock { get; }

    public int BlockSize { get; }

    public IReadableVolume Volume => volume;

    /// <summary>The clock for timestamps of changed files; a build may pin it for reproducible output.</summary>
    public Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

    public bool CanWrite => volume is IWritableVolume && WriteRefusal is null;

    internal LinuxImageException Damaged(string what) => new(DiagnosticCatalog.Ext4Damaged, Source, Source, what);

    private const string NeedsRecoveryReason = "needs journal recovery (it was not cleanly unmounted and its journal holds changes)";

    public static Ext4FileSystem Open(IReadableVolume volume, string source)
    {
        ArgumentNullException.ThrowIfNull(volume);
        if (volume.Length < Ext4Superblock.Offset + Ext4Superblock.Size)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4Damaged, source, source, "the volume is too small to hold a superblock");
        }
        var sb = Ext4Superblock.TryParse(volume.ReadBytes(Ext4Superblock.Offset, Ext4Superblock.Size), out string? problem)
            ?? throw new LinuxImageException(DiagnosticCatalog.Ext4Damaged, source, source, problem);
        uint unknownIncompat = sb.FeatureIncompat & ~ReadIncompat;
        if (unknownIncompat != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4UnsupportedFeature, source, source, "read", $"incompatible feature bits 0x{unknownIncompat:X}");
        }
        if ((sb.FeatureIncompat & Ext4Superblock.IncompatRecover) != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4NeedsRecovery, source, source, NeedsRecoveryReason);
        }
        if ((ulong)sb.BlocksCount * (ulong)sb.BlockSize > (ulong)volume.Length)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4Damaged, source, source,
                $"the superblock claims {sb.BlocksCount} blocks of {sb.BlockSize} bytes but the volume holds only {volume.Length} bytes");
        }
        uint seed = (sb.FeatureIncompat & Ext4Superblock.IncompatCsumSeed) != 0 ? sb.ChecksumSeedField : Crc32C.Update(~0u, sb.UuidBytes);
        uint count = sb.GroupCount;
        int descSize = sb.DescriptorSize;
        long gdtBytes = (long)count * descSize;
        if (gdtBytes > volume.Length)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4Damaged, source, source, "the group descriptor table is larger than the volume");
        }
        var raw = new byte[gdtBytes];
        var fsProbe = new Ext4FileSystem(volume, source, sb, new Ext4GroupDescriptors(raw, descSize, count), seed);
        int perBlock = sb.BlockSize / descSize;
        for (long i = 0; i * perBlock < count; i++)
        {
            ulong loc = fsProbe.DescriptorBlock((uint)i);
            fsProbe.CheckBlockRange(loc, 1, 0);
            int n = (int)Math.Min(sb.BlockSize, gdtBytes - (i * sb.BlockSize));
            volume.ReadAt((long)loc * sb.BlockSize, raw.AsSpan((int)(i * sb.BlockSize), n));
        }
        fsProbe.ValidateGroups();
        // Every path starts here: a root that is no directory is damage, found now rather than as
        // a failure deep inside path resolution.
        if (!fsProbe.ReadInode(RootInode).IsDirectory)
        {
            throw fsProbe.Damaged($"the root inode ({RootInode}) is not a directory");
        }
        return fsProbe;
    }

    private void ValidateGroups()
    {
        var sb = Superblock;
        ulong inodeTableBlocks = ((ulong)sb.InodesPerGroup * (ulong)sb.InodeSize + (ulong)BlockSize - 1) / (ulong)BlockSize;
        for (uint g = 0; g < groups.Count; g++)
        {
            if ((sb.HasMetadataCsum || sb.HasGdtCsum) && groups.ComputeChecksum(g, sb, csumSeed) != groups.StoredChecksum(g))
            {
                throw Damaged($"group descriptor {g} fails its checksum");
            }
            CheckBlockRange(groups.BlockBitmap(g), 1, 0);
            CheckBlockRange(groups.InodeBitmap(g), 1, 0);
            CheckBlockRange(groups.InodeTable(g), inodeTableBlocks, 0);
            if (groups.FreeInodes(g) > sb.InodesPerGroup || groups.FreeBlocks(g) > sb.BlocksPerGroup)
            {
                throw Damaged($"group descriptor {g} has impossible free counts");
            }
        }
    }

    /// <summary>Why this file system cannot be changed, or null when it can.</summary>
    public string? WriteRefusal => ComputeWriteRefusal();

    private string? ComputeWriteRefusal()
    {
        var sb = Superblock;
        if (volume is not IWritableVolume)
        {
            return "the volume is read-only";
        }
        var unsupported = new List<string>();
        if ((sb.FeatureIncompat & ~WriteIncompat) != 0)
        {
            unsupported.Add($"incompat 0x{sb.FeatureIncompat & ~WriteIncompat:X}");
        }
        if ((sb.FeatureRoCompat & ~WriteRoCompat) != 0)
        {
            unsupported.Add($"ro_compat 0x{sb.FeatureRoCompat & ~WriteRoCompat:X}");
        }
        if ((sb.FeatureCompat & ~WriteCompat) != 0)
        {
            unsupported.Add($"compat 0x{sb.FeatureCompat & ~WriteCompat:X}");
        }
        return unsupported.Count == 0 ? null : string.Join(", ", unsupported);
    }

    /// <summary>Throws the right LIMG error when this file system must not be written.</summary>
    internal void EnsureWritable()
    {
        var sb = Superblock;
        if (volume is not IWritableVolume)
        {
            throw new InvalidOperationException("The file system was opened on a read-only volume; open it on an overlay to change it.");
        }
        // Each reason named as it is: an ext2 has no journal to recover, and telling its user to
        // replay one sends them looking for the wrong thing.
        string? unclean = (sb.FeatureIncompat & Ext4Superblock.IncompatRecover) != 0 ? NeedsRecoveryReason
            : sb.LastOrphan != 0 || (sb.FeatureRoCompat & Ext4Superblock.RoCompatOrphanPresent) != 0
                ? "has an orphan inode list (files deleted while still open when it was last in use) that e2fsck or the kernel must finish"
            : (sb.State & 1) == 0 ? "was not cleanly unmounted (its state is not 'clean')"
            : null;
        if (unclean is not null)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4NeedsRecovery, Source, Source, unclean);
        }
        if ((sb.State & 2) != 0)
        {
            throw Damaged("the superblock records errors found by the kernel");
        }
        string? refusal = ComputeWriteRefusal();
        if (refusal is not null)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4UnsupportedFeature, Source, Source, "write", refusal);
        }
    }

    internal ulong DescriptorBlock(uint index)
    {
        var sb = Superblock;
        if ((sb.FeatureIncompat & Ext4Superblock.IncompatMetaBg) == 0 || index < sb.FirstMetaBg)
        {
            // The table follows the superblock's block; with 1 KiB blocks and bigalloc the first data
            // block is 0 while the superblock still sits in block 1.
            ulong superBlock = sb.FirstDataBlock == 0 && BlockSize == 1024 ? 1UL : sb.FirstDataBlock;
            return superBlock + 1UL + index;
        }
        uint group = index * (uint)(BlockSize / sb.DescriptorSize);
        return GroupFirstBlock(group) + (GroupHasSuperblock(group) ? 1UL : 0UL);
    }

    internal ulong GroupFirstBlock(uint group) => Superblock.FirstDataBlock + ((ulong)group * Superblock.BlocksPerGroup);

    internal uint BlocksInGroup(uint group) =>
        (uint)Math.Min(Superblock.BlocksPerGroup, Superblock.BlocksCount - GroupFirstBlock(group));

    internal bool GroupHasSuperblock(uint group)
    {
        var sb = Superblock;
        if (group == 0)
        {
            return true;
        }
        if ((sb.FeatureCompat & Ext4Superblock.CompatSparseSuper2) != 0)
        {
            return group == sb.BackupBgs0 || group == sb.BackupBgs1;
        }
        if ((sb.FeatureRoCompat & Ext4Superblock.RoCompatSparseSuper) == 0 || group == 1)
        {
            return true;
        }
        return IsPower(group, 3) || IsPower(group, 5) || IsPower(group, 7);
    }

    private static bool IsPower(uint n, uint b)
    {
        ulong p = b;
        while (p < n)
        {
            p *= b;
        }
        return p == n;
    }

    /// <summary>Checks that blocks [start, start+count) lie inside the file system's data area.</summary>
    internal void CheckBlockRange(ulong start, ulong count, uint inode)
    {
        if (start < Superblock.FirstDataBlock || count == 0 || start >= Superblock.BlocksCount || count > Superblock.BlocksCount - start)
        {
            throw Damaged(inode == 0
                ? $"metadata block range {start}+{count} lies outside the file system"
                : $"inode {inode} references blocks {start}+{count} outside the file system of {Superblock.BlocksCount} blocks");
        }
    }

    internal byte[] ReadBlock(ulong block)
    {
        var data = new byte[BlockSize];
        io.ReadAt(checked((long)block * BlockSize), data);
        return data;
    }

    internal void WriteBlock(ulong block, ReadOnlySpan<byte> data)
    {
        CheckBlockRange(block, 1, 0);
        ((IWritableVolume)io).WriteAt(checked((long)block * BlockSize), data);
    }
}
