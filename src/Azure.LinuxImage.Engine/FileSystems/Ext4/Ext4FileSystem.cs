using System.Buffers.Binary;
using System.Text;
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

    // ---- Inodes ----

    private long InodeOffset(uint number)
    {
        if (number == 0 || number > Superblock.InodesCount)
        {
            throw Damaged($"inode number {number} is outside 1..{Superblock.InodesCount}");
        }
        uint group = (number - 1) / Superblock.InodesPerGroup;
        uint index = (number - 1) % Superblock.InodesPerGroup;
        return checked(((long)groups.InodeTable(group) * BlockSize) + ((long)index * Superblock.InodeSize));
    }

    public Ext4Inode ReadInode(uint number)
    {
        var raw = io.ReadBytes(InodeOffset(number), Superblock.InodeSize);
        var inode = new Ext4Inode(number, raw);
        if (Superblock.HasMetadataCsum && inode.LinksCount != 0 && InodeChecksum(inode) is var (lo, hi) &&
            (BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(0x7C)) != lo || (hi is ushort h && BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(0x82)) != h)))
        {
            throw Damaged($"inode {number} fails its checksum");
        }
        if (inode.LinksCount != 0 && inode.ExtraSize != 0 && (inode.ExtraSize < 4 || 128 + inode.ExtraSize > raw.Length || inode.ExtraSize % 4 != 0))
        {
            throw Damaged($"inode {number} has an invalid extra size {inode.ExtraSize}");
        }
        return inode;
    }

    internal uint InodeSeed(Ext4Inode inode)
    {
        uint c = Crc32C.Update(csumSeed, inode.Number);
        return Crc32C.Update(c, inode.Generation);
    }

    private (ushort Lo, ushort? Hi) InodeChecksum(Ext4Inode inode)
    {
        bool hasHi = inode.Raw.Length > 128 && inode.ExtraSize >= 4;
        var copy = (byte[])inode.Raw.Clone();
        copy[0x7C] = copy[0x7D] = 0;
        if (hasHi)
        {
            copy[0x82] = copy[0x83] = 0;
        }
        uint c = Crc32C.Update(InodeSeed(inode), copy);
        return ((ushort)c, hasHi ? (ushort)(c >> 16) : null);
    }

    internal void WriteInode(Ext4Inode inode)
    {
        if (Superblock.HasMetadataCsum)
        {
            var (lo, hi) = InodeChecksum(inode);
            BinaryPrimitives.WriteUInt16LittleEndian(inode.Raw.AsSpan(0x7C), lo);
            if (hi is ushort h)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(inode.Raw.AsSpan(0x82), h);
            }
        }
        ((IWritableVolume)io).WriteAt(InodeOffset(inode.Number), inode.Raw);
    }

    internal void VerifyExtentBlockChecksum(Ext4Inode inode, byte[] block, ulong physical)
    {
        if (!Superblock.HasMetadataCsum)
        {
            return;
        }
        int max = BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(4));
        int tail = 12 + (max * 12);
        if (tail + 4 > block.Length || BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(tail)) != Crc32C.Update(InodeSeed(inode), block.AsSpan(0, tail)))
        {
            throw Damaged($"inode {inode.Number} has an extent block {physical} that fails its checksum");
        }
    }

    internal void VerifyDirectoryBlockChecksum(Ext4Inode dir, byte[] block, ulong physical)
    {
        if (Superblock.HasMetadataCsum && Ext4Directory.HasTail(block) &&
            BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(BlockSize - 4)) != Crc32C.Update(InodeSeed(dir), block.AsSpan(0, BlockSize - Ext4Directory.TailSize)))
        {
            throw Damaged($"directory inode {dir.Number} has a block {physical} that fails its checksum");
        }
    }

    internal uint XattrBlockChecksum(ulong physical, byte[] block)
    {
        Span<byte> le = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(le, physical);
        var copy = (byte[])block.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(0x10), 0);
        return Crc32C.Update(Crc32C.Update(csumSeed, le), copy);
    }

    internal void SetExtentBlockChecksum(Ext4Inode inode, byte[] block)
    {
        if (!Superblock.HasMetadataCsum)
        {
            return;
        }
        int max = BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(4));
        int tail = 12 + (max * 12);
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(tail), Crc32C.Update(InodeSeed(inode), block.AsSpan(0, tail)));
    }

    internal void SetDirectoryBlockChecksum(Ext4Inode dir, byte[] block)
    {
        if (!Superblock.HasMetadataCsum)
        {
            return;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(BlockSize - 4), Crc32C.Update(InodeSeed(dir), block.AsSpan(0, BlockSize - Ext4Directory.TailSize)));
    }

    // ---- File contents ----

    /// <summary>The data runs of a file, and the blocks of its mapping (extent tree or indirect blocks).</summary>
    public (List<Ext4Run> Runs, List<ulong> MapBlocks) MapFile(Ext4Inode inode)
    {
        var runs = new List<Ext4Run>();
        var meta = new List<ulong>();
        if ((inode.Flags & Ext4Inode.FlagInlineData) != 0 || IsFastSymlink(inode))
        {
            return (runs, meta);
        }
        if ((inode.Flags & Ext4Inode.FlagExtents) != 0)
        {
            Ext4Extents.Map(this, inode, runs, meta);
        }
        else
        {
            Ext4BlockMap.Map(this, inode, runs, meta);
        }
        return (runs, meta);
    }

    internal bool IsFastSymlink(Ext4Inode inode)
    {
        if (!inode.IsSymlink || (inode.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            return false;
        }
        ulong eaBlocks = inode.FileAcl != 0 ? (ulong)(BlockSize / 512) : 0;
        return inode.Size < Ext4Inode.BlockArraySize && inode.BlocksRaw - eaBlocks == 0;
    }

    /// <summary>Reads a whole file, symlink or directory body; holes and unwritten extents read as zeros.</summary>
    public byte[] ReadData(Ext4Inode inode)
    {
        long size = inode.Size;
        if (size < 0 || size > Array.MaxLength)
        {
            throw new LinuxImageException(DiagnosticCatalog.GuestPathInvalid, Source, Source, $"inode {inode.Number}", $"its size {size} is too large to read into memory");
        }
        if ((ulong)size > Superblock.BlocksCount * (ulong)BlockSize && (inode.Flags & Ext4Inode.FlagInlineData) == 0)
        {
            // A sparse file may legitimately be larger than the file system, but nothing we patch is.
            throw new LinuxImageException(DiagnosticCatalog.GuestPathInvalid, Source, Source, $"inode {inode.Number}", $"its size {size} exceeds the file system");
        }
        if ((inode.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            return ReadInline(inode, (int)size);
        }
        if (IsFastSymlink(inode))
        {
            return inode.BlockArray[..(int)size].ToArray();
        }
        var data = new byte[size];
        var (runs, _) = MapFile(inode);
        foreach (var run in runs)
        {
            if (run.Uninitialized)
            {
                continue;
            }
            long start = (long)run.Logical * BlockSize;
            if (start >= size)
            {
                break;
            }
            int n = (int)Math.Min((long)run.Length * BlockSize, size - start);
            io.ReadAt((long)run.Physical * BlockSize, data.AsSpan((int)start, n));
        }
        return data;
    }

    private byte[] ReadInline(Ext4Inode inode, int size)
    {
        byte[] tail = Ext4Xattr.InlineDataTail(this, inode) ?? [];
        if (size > Ext4Inode.BlockArraySize + tail.Length)
        {
            throw Damaged($"inode {inode.Number} claims {size} bytes of inline data but stores {Ext4Inode.BlockArraySize + tail.Length}");
        }
        var data = new byte[size];
        int head = Math.Min(size, Ext4Inode.BlockArraySize);
        inode.BlockArray[..head].CopyTo(data);
        tail.AsSpan(0, size - head).CopyTo(data.AsSpan(head));
        return data;
    }

    public string ReadSymlink(Ext4Inode inode)
    {
        if (!inode.IsSymlink)
        {
            throw new InvalidOperationException($"Inode {inode.Number} is not a symbolic link.");
        }
        if (inode.Size > 4096)
        {
            throw Damaged($"symbolic link inode {inode.Number} has a target of {inode.Size} bytes");
        }
        return Encoding.UTF8.GetString(ReadData(inode));
    }

    public IReadOnlyDictionary<string, byte[]> ReadXattrs(Ext4Inode inode) => Ext4Xattr.Read(this, inode);

    // ---- Directories ----

    public IReadOnlyList<Ext4DirEntry> ReadDirectory(Ext4Inode dir)
    {
        if (!dir.IsDirectory)
        {
            throw new InvalidOperationException($"Inode {dir.Number} is not a directory.");
        }
        var result = new List<Ext4DirEntry>();
        bool ft = Superblock.HasFiletype;
        if ((dir.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            byte[] body = ReadData(dir);
            if (body.Length < 4)
            {
                throw Damaged($"inline directory inode {dir.Number} is too short");
            }
            result.Add(new Ext4DirEntry(".", dir.Number, Ext4Directory.TypeDirectory));
            result.Add(new Ext4DirEntry("..", BinaryPrimitives.ReadUInt32LittleEndian(body), Ext4Directory.TypeDirectory));
            AddEntries(body.AsSpan(4, Math.Min(body.Length, Ext4Inode.BlockArraySize) - 4), dir.Number, ft, result);
            if (body.Length > Ext4Inode.BlockArraySize)
            {
                AddEntries(body.AsSpan(Ext4Inode.BlockArraySize), dir.Number, ft, result);
            }
            return result;
        }
        var (runs, _) = MapFile(dir);
        long blocks = (dir.Size + BlockSize - 1) / BlockSize;
        foreach (var run in runs)
        {
            for (uint i = 0; i < run.Length && run.Logical + i < blocks; i++)
            {
                byte[] block = ReadBlock(run.Physical + i);
                VerifyDirectoryBlockChecksum(dir, block, run.Physical + i);
                AddEntries(block, dir.Number, ft, result);
            }
        }
        return result;
    }

    private void AddEntries(ReadOnlySpan<byte> block, uint dirInode, bool ft, List<Ext4DirEntry> result)
    {
        if (block.IsEmpty)
        {
            return;
        }
        foreach (var slot in Ext4Directory.Parse(this, block, dirInode, ft))
        {
            if (slot.Inode != 0)
            {
                result.Add(new Ext4DirEntry(Ext4Directory.Name(block, slot), slot.Inode, slot.FileType));
            }
        }
    }

    /// <summary>
    /// The inode a directory names <paramref name="name"/>, or 0. A hashed directory is asked for the
    /// leaf that owns the name first; every other case (and a miss there) scans all blocks, which is
    /// always correct.
    /// </summary>
    public uint Lookup(Ext4Inode dir, string name)
    {
        if (!dir.IsDirectory)
        {
            throw new InvalidOperationException($"Inode {dir.Number} is not a directory.");
        }
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        if ((dir.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            foreach (var e in ReadDirectory(dir))
            {
                if (e.Name == name)
                {
                    return e.Inode;
                }
            }
            return 0;
        }
        if (name == ".")
        {
            return dir.Number;
        }
        var (runs, _) = MapFile(dir);
        bool ft = Superblock.HasFiletype;
        ulong? leaf = null;
        if ((dir.Flags & Ext4Inode.FlagIndex) != 0 && name != "..")
        {
            leaf = Ext4HashTree.FindLeaf(this, dir, runs, nameBytes);
            if (leaf is ulong physical && FindInBlock(dir, physical, nameBytes, ft) is uint found and not 0)
            {
                return found;
            }
        }
        long blocks = (dir.Size + BlockSize - 1) / BlockSize;
        foreach (var run in runs)
        {
            for (uint i = 0; i < run.Length && run.Logical + i < blocks; i++)
            {
                ulong physical = run.Physical + i;
                if (physical != leaf && FindInBlock(dir, physical, nameBytes, ft) is uint found and not 0)
                {
                    return found;
                }
            }
        }
        return 0;
    }

    private uint FindInBlock(Ext4Inode dir, ulong physical, byte[] name, bool ft)
    {
        byte[] block = ReadBlock(physical);
        VerifyDirectoryBlockChecksum(dir, block, physical);
        foreach (var slot in Ext4Directory.Parse(this, block, dir.Number, ft))
        {
            if (Ext4Directory.NameEquals(block, slot, name))
            {
                return slot.Inode;
            }
        }
        return 0;
    }
}
