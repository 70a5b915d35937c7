using System.Buffers.Binary;
using System.Globalization;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Fat;

/// <summary>
/// FAT12/16/32 (the EFI system partition) behind the common file-system seam. A node is the volume
/// offset of a name's 8.3 directory entry (the root, which has none, is <see cref="RootNode"/>):
/// it stays valid while the name stays where it is (a rename gives a new node). Owners and
/// permissions do not exist on FAT; they come from the fstab options (uid=, gid=, umask=, fmask=,
/// dmask=) as the kernel's vfat driver shows them, and only the read-only attribute is stored.
/// Every cluster chain is followed at most once per cluster (a loop or an out-of-range cluster is
/// LIMG0360), and each write updates both FAT copies and the FAT32 FSInfo free count.
/// </summary>
public sealed partial class FatFileSystem : IFileSystem
{
    /// <summary>FAT allows at most 65,536 entries in a directory.</summary>
    private const int MaxDirectoryBytes = 65536 * FatDirectoryEntries.EntrySize;

    /// <summary>A FAT we hold in memory; a larger one is refused rather than loaded (an ESP's is a few MiB).</summary>
    private const long MaxFatBytes = 256L << 20;

    private readonly IReadableVolume volume;
    private readonly FatTable table;
    private readonly string? fatCopiesDiffer;
    private readonly bool hasFsInfo;
    private readonly int uid;
    private readonly int gid;
    private readonly int fileMask;
    private readonly int dirMask;
    private uint nextFree = 2;

    private FatFileSystem(IReadableVolume volume, string source, FatBootSector boot, FatTable table, string? copiesDiffer, bool hasFsInfo, string options)
    {
        this.volume = volume;
        Source = source;
        Boot = boot;
        this.table = table;
        fatCopiesDiffer = copiesDiffer;
        this.hasFsInfo = hasFsInfo;
        int umask = 0x12; // 022: the kernel's default is the mounting process's umask
        fileMask = dirMask = -1;
        uid = gid = 0;
        foreach (string option in options.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] kv = option.Split('=', 2);
            if (kv.Length != 2)
            {
                continue;
            }
            switch (kv[0])
            {
                case "uid" when int.TryParse(kv[1], NumberStyles.None, CultureInfo.InvariantCulture, out int u):
                    uid = u;
                    break;
                case "gid" when int.TryParse(kv[1], NumberStyles.None, CultureInfo.InvariantCulture, out int g):
                    gid = g;
                    break;
                case "umask" when TryOctal(kv[1], out int m):
                    umask = m;
                    break;
                case "fmask" when TryOctal(kv[1], out int m):
                    fileMask = m;
                    break;
                case "dmask" when TryOctal(kv[1], out int m):
                    dirMask = m;
                    break;
            }
        }
        fileMask = fileMask < 0 ? umask : fileMask;
        dirMask = dirMask < 0 ? umask : dirMask;
    }

    public string Source { get; }

    public FatBootSector Boot { get; }

    public string TypeName => "vfat";

    /// <summary>Not an entry offset (those are multiples of 32), so it never names a directory entry.</summary>
    public ulong RootNode => 1;

    public Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

    public string? WriteRefusal => volume is not IWritableVolume ? "the volume is read-only" : fatCopiesDiffer;

    public FileSystemSpace Space => new((long)Boot.ClusterCount * Boot.ClusterSize, (long)table.FreeCount * Boot.ClusterSize);

    public static FatFileSystem Open(IReadableVolume volume, string source, string options = "")
    {
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentNullException.ThrowIfNull(options);
        var sector = new byte[FatBootSector.Size];
        if (volume.Length < sector.Length)
        {
            throw new LinuxImageException(DiagnosticCatalog.FatDamaged, source, source, "the volume is smaller than one boot sector");
        }
        volume.ReadAt(0, sector);
        var boot = FatBootSector.TryParse(sector, volume.Length, out string problem)
            ?? throw new LinuxImageException(DiagnosticCatalog.FatDamaged, source, source, problem);
        if (boot.FatBytes > MaxFatBytes)
        {
            throw new LinuxImageException(DiagnosticCatalog.FatCannotStore, source, source, "its FAT", $"a FAT of {boot.FatBytes} bytes is larger than the SDK reads ({MaxFatBytes} bytes)");
        }
        var table = new FatTable(boot, volume);
        bool fsInfo = false;
        if (boot.Kind == FatKind.Fat32 && boot.FsInfoSector > 0 && boot.FsInfoSector < boot.ReservedSectors)
        {
            var info = volume.ReadBytes((long)boot.FsInfoSector * boot.BytesPerSector, 512);
            fsInfo = BinaryPrimitives.ReadUInt32LittleEndian(info) == 0x41615252 && BinaryPrimitives.ReadUInt32LittleEndian(info.AsSpan(484)) == 0x61417272;
        }
        var fs = new FatFileSystem(volume, source, boot, table, table.CompareCopies(volume), fsInfo, options);
        if (fsInfo)
        {
            uint hint = BinaryPrimitives.ReadUInt32LittleEndian(volume.ReadBytes(((long)boot.FsInfoSector * boot.BytesPerSector) + 492, 4));
            fs.nextFree = table.IsData(hint) ? hint : 2;
        }
        return fs;
    }

    private static bool TryOctal(string s, out int value)
    {
        value = 0;
        if (s.Length is 0 or > 4)
        {
            return false;
        }
        foreach (char c in s)
        {
            if (c is < '0' or > '7')
            {
                return false;
            }
            value = (value * 8) + (c - '0');
        }
        return true;
    }

    internal LinuxImageException Damaged(string what) => new(DiagnosticCatalog.FatDamaged, Source, Source, what);

    public FileSystemNodeInfo Stat(ulong node)
    {
        if (node == RootNode)
        {
            return new FileSystemNodeInfo(node, FileSystemNodeKind.Directory, RootSize(), 0x4000 | (0x1FF & ~dirMask), uid, gid, 2);
        }
        var e = Entry(node);
        byte attr = e[11];
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(e.AsSpan(28));
        if ((attr & FatDirectoryEntries.AttrDirectory) != 0)
        {
            long bytes = (long)Chain(FirstCluster(e), "a directory").Count * Boot.ClusterSize;
            return new FileSystemNodeInfo(node, FileSystemNodeKind.Directory, bytes, 0x4000 | (0x1FF & ~dirMask), uid, gid, 2);
        }
        int mode = 0x1FF & ~fileMask;
        if ((attr & FatDirectoryEntries.AttrReadOnly) != 0)
        {
            mode &= ~0x92;
        }
        return new FileSystemNodeInfo(node, FileSystemNodeKind.File, size, 0x8000 | mode, uid, gid, 1);
    }

    public ulong? Lookup(ulong directory, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var dir = OpenDirectory(directory);
        var e = Find(dir, name);
        if (e is null)
        {
            return null;
        }
        if (e.Value.IsDirectory)
        {
            CheckChild(dir, e.Value);
        }
        return (ulong)dir.OffsetOf(e.Value.Index);
    }

    public IReadOnlyList<FileSystemDirectoryEntry> ListDirectory(ulong directory)
    {
        var dir = OpenDirectory(directory);
        var result = new List<FileSystemDirectoryEntry>();
        foreach (var e in dir.Entries)
        {
            if (e.Name is "." or "..")
            {
                continue;
            }
            if (e.IsDirectory)
            {
                CheckChild(dir, e);
            }
            result.Add(new FileSystemDirectoryEntry(e.Name, (ulong)dir.OffsetOf(e.Index), e.IsDirectory ? FileSystemNodeKind.Directory : FileSystemNodeKind.File));
        }
        return result;
    }

    public byte[] ReadFile(ulong node)
    {
        var e = Entry(node);
        if ((e[11] & FatDirectoryEntries.AttrDirectory) != 0)
        {
            throw new IOException($"Node {node} of '{Source}' is a directory, not a file.");
        }
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(e.AsSpan(28));
        var chain = Chain(FirstCluster(e), "a file");
        long have = (long)chain.Count * Boot.ClusterSize;
        if (size > have)
        {
            throw Damaged($"a file of {size} bytes has a chain of only {chain.Count} clusters ({have} bytes)");
        }
        if (size > Array.MaxLength)
        {
            throw new LinuxImageException(DiagnosticCatalog.FatCannotStore, Source, Source, $"node {node}", $"a file of {size} bytes is larger than the SDK reads");
        }
        // The allocation is sized by the chain already walked, which the volume bounds.
        var data = new byte[size];
        int at = 0;
        foreach (uint c in chain)
        {
            if (at >= data.Length)
            {
                break;
            }
            int n = Math.Min(Boot.ClusterSize, data.Length - at);
            volume.ReadAt(Boot.ClusterOffset(c), data.AsSpan(at, n));
            at += n;
        }
        return data;
    }

    public string ReadSymlink(ulong node) => throw new IOException($"FAT has no symbolic links (node {node} of '{Source}').");

    public IReadOnlyDictionary<string, byte[]> ReadXattrs(ulong node)
    {
        Stat(node);
        return new Dictionary<string, byte[]>();
    }

    private long RootSize() => Boot.Kind == FatKind.Fat32 ? (long)Chain(Boot.RootCluster, "the root directory").Count * Boot.ClusterSize : Boot.RootDirBytes;

    private static uint FirstCluster(ReadOnlySpan<byte> e) => BinaryPrimitives.ReadUInt16LittleEndian(e[26..]) | ((uint)BinaryPrimitives.ReadUInt16LittleEndian(e[20..]) << 16);

    /// <summary>The 8.3 entry a node names, after checking the node is one.</summary>
    private byte[] Entry(ulong node)
    {
        if (node % FatDirectoryEntries.EntrySize != 0 || node < (ulong)Boot.RootDirOffset || node > (ulong)(volume.Length - FatDirectoryEntries.EntrySize))
        {
            throw new IOException($"{node} is not a node of '{Source}'.");
        }
        var e = volume.ReadBytes((long)node, FatDirectoryEntries.EntrySize);
        if (e[0] is 0 or FatDirectoryEntries.Deleted || (e[11] & 0x3F) == FatDirectoryEntries.AttrLongName || (e[11] & FatDirectoryEntries.AttrVolumeId) != 0)
        {
            throw new IOException($"{node} is not a node of '{Source}' (no live entry there).");
        }
        return e;
    }

    /// <summary>
    /// The clusters of a chain, in order; each cluster at most once, so a loop ends the walk after at
    /// most ClusterCount steps with LIMG0360 instead of running forever.
    /// </summary>
    internal List<uint> Chain(uint first, string what)
    {
        var chain = new List<uint>();
        if (first == 0)
        {
            return chain;
        }
        var seen = new HashSet<uint>();
        uint c = first;
        while (true)
        {
            if (!table.IsData(c))
            {
                throw Damaged($"the cluster chain of {what} (starting at {first}) names cluster {c}, outside the data area (2..{Boot.ClusterCount + 1})");
            }
            if (!seen.Add(c))
            {
                throw Damaged($"the cluster chain of {what} (starting at {first}) loops back to cluster {c}");
            }
            chain.Add(c);
            uint next = table.Get(c);
            if (next >= table.EndOfChain)
            {
                return chain;
            }
            if (next == FatTable.Free || next == table.BadCluster)
            {
                throw Damaged($"the cluster chain of {what} (starting at {first}) runs into a {(next == FatTable.Free ? "free" : "bad")} cluster after {c}");
            }
            c = next;
        }
    }

    /// <summary>A directory's bytes and where each of its entries lies on the volume.</summary>
    private sealed class DirectoryView
    {
        public required ulong Node { get; init; }

        /// <summary>0 for a FAT12/16 root, which lies outside the data area.</summary>
        public required uint FirstCluster { get; init; }

        public required List<uint> Clusters { get; init; }

        public required byte[] Bytes { get; init; }

        public required List<FatEntry> Entries { get; init; }

        public required long FixedOffset { get; init; }

        public required int ClusterSize { get; init; }

        public required long DataOffset { get; init; }

        public long OffsetOf(int index)
        {
            long at = (long)index * FatDirectoryEntries.EntrySize;
            if (Clusters.Count == 0)
            {
                return FixedOffset + at;
            }
            return DataOffset + ((long)(Clusters[(int)(at / ClusterSize)] - 2) * ClusterSize) + (at % ClusterSize);
        }
    }

    private DirectoryView OpenDirectory(ulong node)
    {
        uint first;
        if (node == RootNode)
        {
            first = Boot.Kind == FatKind.Fat32 ? Boot.RootCluster : 0;
        }
        else
        {
            var e = Entry(node);
            if ((e[11] & FatDirectoryEntries.AttrDirectory) == 0)
            {
                throw new IOException($"Node {node} of '{Source}' is not a directory.");
            }
            first = FirstCluster(e);
            if (first == 0)
            {
                throw Damaged($"the directory at node {node} has no clusters");
            }
        }
        byte[] bytes;
        List<uint> clusters;
        if (first == 0)
        {
            clusters = [];
            bytes = volume.ReadBytes(Boot.RootDirOffset, Boot.RootDirBytes);
        }
        else
        {
            clusters = Chain(first, node == RootNode ? "the root directory" : "a directory");
            if ((long)clusters.Count * Boot.ClusterSize > MaxDirectoryBytes)
            {
                throw Damaged($"a directory of {clusters.Count} clusters is larger than FAT allows (65,536 entries)");
            }
            bytes = new byte[clusters.Count * Boot.ClusterSize];
            for (int i = 0; i < clusters.Count; i++)
            {
                volume.ReadAt(Boot.ClusterOffset(clusters[i]), bytes.AsSpan(i * Boot.ClusterSize, Boot.ClusterSize));
            }
        }
        return new DirectoryView
        {
            Node = node,
            FirstCluster = first,
            Clusters = clusters,
            Bytes = bytes,
            Entries = FatDirectoryEntries.Parse(bytes),
            FixedOffset = Boot.RootDirOffset,
            ClusterSize = Boot.ClusterSize,
            DataOffset = Boot.DataOffset,
        };
    }

    private static FatEntry? Find(DirectoryView dir, string name)
    {
        foreach (var e in dir.Entries)
        {
            if (e.Name is "." or "..")
            {
                continue;
            }
            // vfat matches either name, ignoring case.
            if (string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase) || string.Equals(e.ShortName, name, StringComparison.OrdinalIgnoreCase))
            {
                return e;
            }
        }
        return null;
    }

    /// <summary>
    /// A subdirectory must start with "." and a ".." that names the directory it was found in;
    /// otherwise it is a second link to some other directory, and walking it could loop forever.
    /// </summary>
    private void CheckChild(DirectoryView parent, FatEntry child)
    {
        if (!table.IsData(child.FirstCluster))
        {
            throw Damaged($"the directory '{child.Name}' starts at cluster {child.FirstCluster}, outside the data area");
        }
        var head = volume.ReadBytes(Boot.ClusterOffset(child.FirstCluster), 2 * FatDirectoryEntries.EntrySize);
        if (!head.AsSpan(0, 11).SequenceEqual(".          "u8) || !head.AsSpan(32, 11).SequenceEqual("..         "u8))
        {
            throw Damaged($"the directory '{child.Name}' (cluster {child.FirstCluster}) does not begin with its '.' and '..' entries");
        }
        uint dotdot = FirstCluster(head.AsSpan(32));
        bool parentIsRoot = parent.Node == RootNode;
        bool ok = parentIsRoot ? dotdot == 0 || dotdot == parent.FirstCluster : dotdot == parent.FirstCluster;
        if (!ok || child.FirstCluster == parent.FirstCluster)
        {
            throw Damaged($"the directory '{child.Name}' (cluster {child.FirstCluster}) is linked from a directory that is not its parent (its '..' names cluster {dotdot}): a directory loop");
        }
    }
}
