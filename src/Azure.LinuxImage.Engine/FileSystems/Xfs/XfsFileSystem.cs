using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// An XFS file system (v4 or v5) read from a volume. Opening checks the superblock, every AG
/// header and the log (a log that needs recovery is refused); every on-disk number is checked
/// before it is used as an offset or a size, and every walk over on-disk links is bounded.
/// Changes are prepared whole in an <see cref="XfsTransaction"/> and written into the volume it was
/// opened on (an overlay) only once laid out; what is not implemented is refused with LIMG0342 first.
/// </summary>
public sealed partial class XfsFileSystem
{
    private readonly IReadableVolume volume;

    internal IReadableVolume Volume => volume;
    private readonly Dictionary<ulong, XfsInode> inodes = [];
    private readonly Dictionary<ulong, List<XfsDirEntry>> directories = [];

    private XfsFileSystem(IReadableVolume volume, string source, XfsSuperblock sb)
    {
        this.volume = volume;
        Source = source;
        Superblock = sb;
    }

    public string Source { get; }

    public XfsSuperblock Superblock { get; private set; }

    internal IReadOnlyList<XfsAgHeaders> AllocationGroups { get; private set; } = [];

    public Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

    /// <summary>After a transaction reached the volume: the new superblock, and caches of what changed dropped.</summary>
    internal void Committed(byte[]? superblock, IEnumerable<ulong> changedInodes)
    {
        if (superblock is not null)
        {
            Superblock = XfsSuperblock.TryParse(superblock, out _) ?? Superblock;
        }
        foreach (ulong number in changedInodes)
        {
            inodes.Remove(number);
        }
        directories.Clear();
    }

    /// <summary>The fsblock number (AG number shifted by agblklog) of a linear block.</summary>
    internal ulong FsBlock(ulong linear) => ((linear / Superblock.AgBlocks) << Superblock.AgBlockLog) | (linear % Superblock.AgBlocks);

    /// <summary>The allocation group an inode lives in.</summary>
    internal uint AgOfInode(ulong number) => (uint)(number >> (Superblock.AgBlockLog + Superblock.InodesPerBlockLog));

    internal LinuxImageException Damaged(string what) => new(DiagnosticCatalog.XfsDamaged, Source, Source, what);

    public static XfsFileSystem Open(IReadableVolume volume, string source)
    {
        ArgumentNullException.ThrowIfNull(volume);
        if (volume.Length < 4096)
        {
            throw new LinuxImageException(DiagnosticCatalog.XfsDamaged, source, source, "the volume is too small to hold a superblock");
        }
        var first = XfsSuperblock.TryParse(volume.ReadBytes(0, 512), out string? problem)
            ?? throw new LinuxImageException(DiagnosticCatalog.XfsDamaged, source, source, problem);
        byte[] sector = volume.ReadBytes(0, first.SectorSize);
        var sb = XfsSuperblock.TryParse(sector, out problem) ?? throw new LinuxImageException(DiagnosticCatalog.XfsDamaged, source, source, problem);
        var fs = new XfsFileSystem(volume, source, sb);
        if (sb.IsV5 && !XfsChecksum.Verify(sector, XfsSuperblock.CrcOffset))
        {
            throw fs.Damaged("the superblock fails its checksum");
        }
        if ((sb.FeaturesIncompat & XfsSuperblock.IncompatNeedsRepair) != 0 || sb.InProgress)
        {
            throw fs.Damaged(sb.InProgress ? "mkfs did not finish" : "the superblock is marked as needing xfs_repair");
        }
        uint unknown = sb.IsV5 ? sb.FeaturesIncompat & ~XfsSuperblock.ReadIncompat : 0;
        if (unknown != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.XfsUnsupportedFeature, source, source, "read", $"incompatible feature bits 0x{unknown:X}");
        }
        if (sb.DataBlocks > (ulong)volume.Length / (ulong)sb.BlockSize)
        {
            throw fs.Damaged($"the superblock claims {sb.DataBlocks} blocks of {sb.BlockSize} bytes but the volume holds only {volume.Length} bytes");
        }
        if (sb.RealtimeBlocks != 0 || sb.RealtimeExtents != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.XfsUnsupportedFeature, source, source, "read", "a realtime device (its data lives outside this volume)");
        }
        if (sb.LogStart == 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.XfsUnsupportedFeature, source, source, "read", "an external log device (the log that says whether the file system is clean lives outside this volume)");
        }
        fs.CheckedBlock(sb.LogStart, sb.LogBlocks, 0);
        if (sb.FeaturesLogIncompat != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.XfsNeedsRecovery, source, source, $"log-incompatible features 0x{sb.FeaturesLogIncompat:X} are set");
        }
        if (XfsLog.Dirty(fs) is string dirty)
        {
            throw new LinuxImageException(DiagnosticCatalog.XfsNeedsRecovery, source, source, dirty);
        }
        var groups = new List<XfsAgHeaders>();
        for (uint ag = 0; ag < sb.AgCount; ag++)
        {
            groups.Add(XfsAgHeaders.Read(fs, ag));
        }
        fs.AllocationGroups = groups;
        if (!fs.ReadInode(sb.RootInode).IsDirectory)
        {
            throw fs.Damaged($"the root inode {sb.RootInode} is not a directory");
        }
        return fs;
    }

    // ---- Blocks ----

    internal byte[] ReadBytes(long offset, int count)
    {
        if (offset < 0 || count < 0 || offset > volume.Length - count)
        {
            throw Damaged($"a read of {count} bytes at {offset} lies outside the volume");
        }
        return volume.ReadBytes(offset, count);
    }

    /// <summary>A linear block number (AG number times AG blocks plus AG block) from an XFS fsblock number (AG number shifted by agblklog).</summary>
    internal ulong LinearBlock(ulong fsblock)
    {
        var sb = Superblock;
        ulong ag = fsblock >> sb.AgBlockLog;
        ulong agbno = fsblock & ((1UL << sb.AgBlockLog) - 1);
        if (ag >= sb.AgCount || agbno >= XfsAgHeaders.AgLength(sb, (uint)ag))
        {
            throw Damaged($"block {ag}/{agbno} lies outside the file system");
        }
        return (ag * sb.AgBlocks) + agbno;
    }

    /// <summary>Checks an fsblock range against its allocation group and returns the first linear block.</summary>
    internal ulong CheckedBlock(ulong fsblock, ulong count, ulong owner)
    {
        var sb = Superblock;
        ulong ag = fsblock >> sb.AgBlockLog;
        ulong agbno = fsblock & ((1UL << sb.AgBlockLog) - 1);
        if (count == 0 || ag >= sb.AgCount || agbno >= XfsAgHeaders.AgLength(sb, (uint)ag) || count > XfsAgHeaders.AgLength(sb, (uint)ag) - agbno)
        {
            throw Damaged(owner == 0
                ? $"metadata blocks {ag}/{agbno}+{count} lie outside their allocation group"
                : $"inode {owner} references blocks {ag}/{agbno}+{count} outside their allocation group");
        }
        return (ag * sb.AgBlocks) + agbno;
    }

    internal byte[] ReadBlocks(ulong linear, int count) => ReadBytes(checked((long)linear * Superblock.BlockSize), checked(count * Superblock.BlockSize));

    internal XfsExtent ToExtent(ulong owner, ReadOnlySpan<byte> record)
    {
        var (offset, start, count, unwritten) = XfsExtent.Unpack(record);
        if (count == 0)
        {
            throw Damaged($"inode {owner} has an empty extent at fork block {offset}");
        }
        return new XfsExtent(offset, CheckedBlock(start, count, owner), count, unwritten);
    }

    /// <summary>Reads <paramref name="count"/> consecutive fork blocks from <paramref name="logical"/>; each must be mapped and written.</summary>
    internal byte[] ReadForkBlocks(XfsInode inode, List<XfsExtent> extents, ulong logical, int count, string what)
    {
        int bs = Superblock.BlockSize;
        var data = new byte[count * bs];
        int done = 0;
        while (done < count)
        {
            ulong want = logical + (ulong)done;
            int i = extents.FindIndex(e => e.Logical <= want && want < e.Logical + e.Length);
            if (i < 0 || extents[i].Unwritten)
            {
                throw Damaged($"inode {inode.Number} has no written {what} block at fork block {want}");
            }
            var e = extents[i];
            int n = (int)Math.Min((ulong)(count - done), e.Logical + e.Length - want);
            byte[] part = ReadBlocks(e.Physical + (want - e.Logical), n);
            part.CopyTo(data, done * bs);
            done += n;
        }
        return data;
    }

    // ---- Inodes ----

    /// <summary>Where an inode lives; the number is checked by <see cref="ReadInode"/> before this is trusted.</summary>
    internal long InodeOffset(ulong number)
    {
        var sb = Superblock;
        int shift = sb.AgBlockLog + sb.InodesPerBlockLog;
        ulong ag = number >> shift;
        ulong agino = number & ((1UL << shift) - 1);
        ulong agbno = agino >> sb.InodesPerBlockLog;
        ulong index = agino & (ulong)(sb.InodesPerBlock - 1);
        return checked(((((long)ag * sb.AgBlocks) + (long)agbno) * sb.BlockSize) + ((long)index * sb.InodeSize));
    }

    public XfsInode ReadInode(ulong number)
    {
        if (inodes.TryGetValue(number, out var cached))
        {
            return cached;
        }
        var sb = Superblock;
        int shift = sb.AgBlockLog + sb.InodesPerBlockLog;
        ulong ag = number >> shift;
        ulong agino = number & ((1UL << shift) - 1);
        ulong agbno = agino >> sb.InodesPerBlockLog;
        if (number == 0 || ag >= sb.AgCount || agbno >= XfsAgHeaders.AgLength(sb, (uint)ag))
        {
            throw Damaged($"inode number {number} lies outside the file system");
        }
        var inode = new XfsInode(number, ReadBytes(InodeOffset(number), sb.InodeSize));
        if (inode.Check(sb) is string problem)
        {
            throw Damaged($"inode {number} {problem}");
        }
        if ((inode.Flags & XfsInode.FlagRealtime) != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.XfsUnsupportedFeature, Source, Source, "read", $"inode {number} keeps its data on the realtime device");
        }
        inodes[number] = inode;
        return inode;
    }

    public byte[] ReadData(XfsInode inode)
    {
        long size = inode.Size;
        if (size > Array.MaxLength || (ulong)size > Superblock.DataBlocks * (ulong)Superblock.BlockSize)
        {
            throw new LinuxImageException(DiagnosticCatalog.GuestPathInvalid, Source, Source, $"inode {inode.Number}", $"its size {size} is too large to read into memory");
        }
        if (inode.Format == XfsForkFormat.Local)
        {
            var fork = inode.DataFork;
            if (size > fork.Length)
            {
                throw Damaged($"inode {inode.Number} claims {size} bytes in a local fork of {fork.Length}");
            }
            return fork[..(int)size].ToArray();
        }
        var data = new byte[size];
        int bs = Superblock.BlockSize;
        foreach (var e in XfsBmap.Map(this, inode, attr: false))
        {
            if (e.Unwritten)
            {
                continue;
            }
            if (e.Logical > (ulong)size / (ulong)bs)
            {
                break;
            }
            long start = (long)e.Logical * bs;
            long n = Math.Min((long)e.Length * bs, size - start);
            if (n > 0)
            {
                volume.ReadAt(checked((long)e.Physical * bs), data.AsSpan((int)start, (int)n));
            }
        }
        return data;
    }

    public IReadOnlyList<XfsDirEntry> ReadDirectory(XfsInode dir)
    {
        if (!dir.IsDirectory)
        {
            throw new IOException($"inode {dir.Number} is not a directory.");
        }
        if (!directories.TryGetValue(dir.Number, out var entries))
        {
            entries = XfsDirectory.Read(this, dir);
            directories[dir.Number] = entries;
        }
        return entries;
    }

    public string ReadSymlink(XfsInode inode) => Encoding.UTF8.GetString(XfsSymlink.Read(this, inode));

    public IReadOnlyDictionary<string, byte[]> ReadXattrs(XfsInode inode)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (!inode.HasAttrFork)
        {
            return result;
        }
        switch (inode.AttrFormat)
        {
            case XfsForkFormat.Local:
                XfsAttrShortform.Read(this, inode, result);
                break;
            case XfsForkFormat.Extents or XfsForkFormat.Btree:
                if (inode.AttrExtents > 0)
                {
                    XfsAttrLeaf.Read(this, inode, result);
                }
                break;
            default:
                throw Damaged($"inode {inode.Number} has attribute fork format {inode.AttrFormat}");
        }
        return result;
    }
}
