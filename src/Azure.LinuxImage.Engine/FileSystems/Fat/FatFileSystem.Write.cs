using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Fat;

public sealed partial class FatFileSystem
{
    private IWritableVolume Writable()
    {
        if (WriteRefusal is string why)
        {
            throw new InvalidOperationException($"The FAT file system in '{Source}' cannot be written: {why}.");
        }
        return (IWritableVolume)volume;
    }

    public void ReplaceContent(ulong node, ReadOnlySpan<byte> content)
    {
        var target = Writable();
        var e = Entry(node);
        if ((e[11] & FatDirectoryEntries.AttrDirectory) != 0)
        {
            throw new IOException($"Node {node} of '{Source}' is a directory, not a file.");
        }
        CheckFileSize(content.Length, $"node {node}");
        var old = Chain(FirstCluster(e), "a file");
        var clusters = Resize(old, ClustersFor(content.Length), $"node {node}");
        WriteData(target, clusters, content);
        SetFirstCluster(e, clusters.Count == 0 ? 0 : clusters[0]);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(28), (uint)content.Length);
        e[11] |= FatDirectoryEntries.AttrArchive;
        Stamp(e, created: false);
        target.WriteAt((long)node, e);
        Commit(target);
    }

    public ulong CreateFile(ulong directory, string name, ReadOnlySpan<byte> content, int mode, int uid, int gid)
    {
        var target = Writable();
        var dir = PrepareCreate(directory, name);
        CheckFileSize(content.Length, name);
        var clusters = Resize([], ClustersFor(content.Length), name);
        WriteData(target, clusters, content);
        byte attr = (byte)(FatDirectoryEntries.AttrArchive | ((mode & 0x92) == 0 ? FatDirectoryEntries.AttrReadOnly : 0));
        ulong node = AddEntry(target, dir, name, attr, clusters.Count == 0 ? 0 : clusters[0], (uint)content.Length, null);
        Commit(target);
        return node;
    }

    public ulong CreateDirectory(ulong directory, string name, int mode, int uid, int gid)
    {
        var target = Writable();
        var dir = PrepareCreate(directory, name);
        uint cluster = Resize([], 1, name)[0];
        var block = new byte[Boot.ClusterSize];
        var now = FatDirectoryEntries.DosTime(Clock());
        WriteDotEntry(block.AsSpan(0, 32), ".          "u8, cluster, now);
        // ".." names the root as cluster 0, even on FAT32 (what fsck.vfat expects).
        WriteDotEntry(block.AsSpan(32, 32), "..         "u8, dir.Node == RootNode ? 0 : dir.FirstCluster, now);
        target.WriteAt(Boot.ClusterOffset(cluster), block);
        ulong node = AddEntry(target, dir, name, FatDirectoryEntries.AttrDirectory, cluster, 0, null);
        Commit(target);
        return node;
    }

    public ulong CreateSymlink(ulong directory, string name, string target, int uid, int gid) =>
        throw new LinuxImageException(DiagnosticCatalog.FatCannotStore, Source, Source, name, "FAT has no symbolic links");

    public void Delete(ulong directory, string name)
    {
        var target = Writable();
        var dir = OpenDirectory(directory);
        var e = Find(dir, name) ?? throw new FileNotFoundException($"'{name}' does not exist in directory node {directory} of '{Source}'.");
        List<uint> chain;
        if (e.IsDirectory)
        {
            CheckChild(dir, e);
            var child = OpenDirectory((ulong)dir.OffsetOf(e.Index));
            if (child.Entries.Any(c => c.Name is not ("." or "..")))
            {
                throw new IOException($"The directory '{name}' in '{Source}' is not empty.");
            }
            chain = child.Clusters;
        }
        else
        {
            chain = Chain(e.FirstCluster, $"'{name}'");
        }
        MarkDeleted(target, dir, e);
        foreach (uint c in chain)
        {
            table.Set(c, FatTable.Free);
        }
        Commit(target);
    }

    public void Rename(ulong fromDirectory, string fromName, ulong toDirectory, string toName)
    {
        var target = Writable();
        var from = OpenDirectory(fromDirectory);
        var e = Find(from, fromName) ?? throw new FileNotFoundException($"'{fromName}' does not exist in directory node {fromDirectory} of '{Source}'.");
        var to = toDirectory == fromDirectory ? from : OpenDirectory(toDirectory);
        if (NameProblem(toName) is string problem)
        {
            throw new LinuxImageException(DiagnosticCatalog.FatCannotStore, Source, Source, toName, problem);
        }
        if (e.IsDirectory && to.FirstCluster != from.FirstCluster)
        {
            CheckNotInside(e.FirstCluster, to);
        }
        var existing = Find(to, toName);
        bool sameEntry = existing is FatEntry x && to.FirstCluster == from.FirstCluster && x.Index == e.Index;
        if (existing is FatEntry victim && !sameEntry)
        {
            if (victim.IsDirectory || e.IsDirectory)
            {
                throw new IOException($"Cannot replace '{toName}' in '{Source}' by a rename: one of them is a directory.");
            }
            var victimChain = Chain(victim.FirstCluster, $"'{toName}'");
            MarkDeleted(target, to, victim);
            foreach (uint c in victimChain)
            {
                table.Set(c, FatTable.Free);
            }
            to = OpenDirectory(to.Node);
            if (to.FirstCluster == from.FirstCluster)
            {
                from = to;
                e = Find(from, fromName)!.Value;
            }
        }
        // The new name is written before the old one is removed, so a failure (no room) loses nothing.
        var old = from.Bytes.AsSpan(e.Index * FatDirectoryEntries.EntrySize, FatDirectoryEntries.EntrySize).ToArray();
        AddEntry(target, to, toName, old[11], e.FirstCluster, e.Size, old);
        from = OpenDirectory(from.Node);
        var stale = from.Entries.First(c => c.Index == e.Index);
        MarkDeleted(target, from, stale);
        if (e.IsDirectory && to.FirstCluster != from.FirstCluster)
        {
            var dotdot = volume.ReadBytes(Boot.ClusterOffset(e.FirstCluster) + 32, 32);
            SetFirstCluster(dotdot, to.Node == RootNode ? 0 : to.FirstCluster);
            target.WriteAt(Boot.ClusterOffset(e.FirstCluster) + 32, dotdot);
        }
        Commit(target);
    }

    /// <summary>
    /// FAT has no extended attributes (Linux's vfat answers EOPNOTSUPP), so this is refused rather
    /// than dropped: a caller that asks to store one must learn it was not stored. The guest layer
    /// never asks, since FAT directories never carry a label to inherit.
    /// </summary>
    public void SetXattr(ulong node, string name, ReadOnlySpan<byte> value)
    {
        Stat(node);
        throw new LinuxImageException(DiagnosticCatalog.XattrNotStored, Source, Source, "vfat", name, node, "FAT has no extended attributes");
    }

    /// <summary>Nothing to remove: FAT nodes have no extended attributes.</summary>
    public void RemoveXattr(ulong node, string name) => Stat(node);

    public void SetMode(ulong node, int permissions)
    {
        var target = Writable();
        if (node == RootNode)
        {
            return;
        }
        var e = Entry(node);
        byte attr = (permissions & 0x92) == 0 ? (byte)(e[11] | FatDirectoryEntries.AttrReadOnly) : (byte)(e[11] & ~FatDirectoryEntries.AttrReadOnly);
        if (attr != e[11])
        {
            e[11] = attr;
            target.WriteAt((long)node, e);
        }
    }

    private static string? NameProblem(string name) => FatDirectoryEntries.NameProblem(name);

    private void CheckFileSize(int length, string name)
    {
        // A span is shorter than 2 GiB, well inside FAT's 4 GiB limit; this only keeps the intent visible.
        if ((long)length > uint.MaxValue)
        {
            throw new LinuxImageException(DiagnosticCatalog.FatCannotStore, Source, Source, name, "a file of 4 GiB or more");
        }
    }

    private int ClustersFor(long bytes) => (int)((bytes + Boot.ClusterSize - 1) / Boot.ClusterSize);

    /// <summary>Walks up from <paramref name="to"/> through ".." entries; moving a directory below itself would cut it off.</summary>
    private void CheckNotInside(uint moving, DirectoryView to)
    {
        uint c = to.FirstCluster;
        var seen = new HashSet<uint>();
        while (c != 0 && !(Boot.Kind == FatKind.Fat32 && c == Boot.RootCluster))
        {
            if (c == moving)
            {
                throw new IOException($"Cannot move a directory of '{Source}' into itself.");
            }
            if (!table.IsData(c) || !seen.Add(c))
            {
                throw Damaged($"the '..' entries above cluster {to.FirstCluster} do not lead to the root");
            }
            c = FirstCluster(volume.ReadBytes(Boot.ClusterOffset(c) + 32, 32));
        }
    }

    private DirectoryView PrepareCreate(ulong directory, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (NameProblem(name) is string problem)
        {
            throw new LinuxImageException(DiagnosticCatalog.FatCannotStore, Source, Source, name, problem);
        }
        var dir = OpenDirectory(directory);
        if (Find(dir, name) is not null)
        {
            throw new IOException($"'{name}' already exists in directory node {directory} of '{Source}'.");
        }
        return dir;
    }

    /// <summary>
    /// Keeps the first clusters of <paramref name="old"/>, frees the rest or links new ones, and ends
    /// the chain; reusing clusters keeps an unchanged-size rewrite to the data it changes.
    /// </summary>
    private List<uint> Resize(List<uint> old, int count, string forName)
    {
        var result = old.Take(count).ToList();
        if (count > result.Count && (uint)(count - result.Count) > table.FreeCount)
        {
            throw new LinuxImageException(DiagnosticCatalog.FatNoSpace, Source, Source, "clusters", forName);
        }
        foreach (uint c in old.Skip(count))
        {
            table.Set(c, FatTable.Free);
        }
        while (result.Count < count)
        {
            uint c = FindFree();
            // Marked at once so the next search does not return it again.
            table.Set(c, table.EndMarker);
            result.Add(c);
        }
        for (int i = 0; i < result.Count; i++)
        {
            table.Set(result[i], i + 1 < result.Count ? result[i + 1] : table.EndMarker);
        }
        return result;
    }

    private uint FindFree()
    {
        uint total = Boot.ClusterCount;
        for (uint k = 0; k < total; k++)
        {
            uint c = 2 + ((nextFree - 2 + k) % total);
            if (table.Get(c) == FatTable.Free)
            {
                nextFree = c + 1 > total + 1 ? 2 : c + 1;
                return c;
            }
        }
        throw new LinuxImageException(DiagnosticCatalog.FatNoSpace, Source, Source, "clusters", "a new cluster");
    }

    private void WriteData(IWritableVolume target, List<uint> clusters, ReadOnlySpan<byte> content)
    {
        var block = new byte[Boot.ClusterSize];
        for (int i = 0; i < clusters.Count; i++)
        {
            int start = i * Boot.ClusterSize;
            int n = Math.Min(Boot.ClusterSize, content.Length - start);
            // The slack after the end is zeroed so that the same content gives the same image.
            block.AsSpan().Clear();
            content.Slice(start, n).CopyTo(block);
            target.WriteAt(Boot.ClusterOffset(clusters[i]), block);
        }
    }

    private static void SetFirstCluster(Span<byte> e, uint cluster)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(e[26..], (ushort)cluster);
        BinaryPrimitives.WriteUInt16LittleEndian(e[20..], (ushort)(cluster >> 16));
    }

    private void Stamp(Span<byte> e, bool created)
    {
        var (date, time) = FatDirectoryEntries.DosTime(Clock());
        if (created)
        {
            e[13] = 0;
            BinaryPrimitives.WriteUInt16LittleEndian(e[14..], time);
            BinaryPrimitives.WriteUInt16LittleEndian(e[16..], date);
        }
        BinaryPrimitives.WriteUInt16LittleEndian(e[18..], date);
        BinaryPrimitives.WriteUInt16LittleEndian(e[22..], time);
        BinaryPrimitives.WriteUInt16LittleEndian(e[24..], date);
    }

    private static void WriteDotEntry(Span<byte> e, ReadOnlySpan<byte> name, uint cluster, (ushort Date, ushort Time) now)
    {
        name.CopyTo(e);
        e[11] = FatDirectoryEntries.AttrDirectory;
        BinaryPrimitives.WriteUInt16LittleEndian(e[14..], now.Time);
        BinaryPrimitives.WriteUInt16LittleEndian(e[16..], now.Date);
        BinaryPrimitives.WriteUInt16LittleEndian(e[18..], now.Date);
        BinaryPrimitives.WriteUInt16LittleEndian(e[22..], now.Time);
        BinaryPrimitives.WriteUInt16LittleEndian(e[24..], now.Date);
        SetFirstCluster(e, cluster);
    }

    /// <summary>
    /// Writes a name's entries (long-name parts, then the 8.3 entry) into free slots of the directory,
    /// growing a cluster directory by zeroed clusters when no run of free slots is long enough.
    /// <paramref name="template"/> carries the times and attributes of a renamed entry.
    /// </summary>
    private ulong AddEntry(IWritableVolume target, DirectoryView dir, string name, byte attr, uint firstCluster, uint size, byte[]? template)
    {
        var taken = new HashSet<string>(dir.Entries.Select(x => x.ShortName.ToUpperInvariant()), StringComparer.Ordinal);
        byte[][] lfn;
        byte[] shortName;
        if (FatDirectoryEntries.IsPlainShortName(name, out var plain) && !taken.Contains(name))
        {
            shortName = plain;
            lfn = [];
        }
        else
        {
            shortName = FatDirectoryEntries.MakeAlias(name, taken);
            lfn = FatDirectoryEntries.LongNameEntries(name, shortName);
        }
        var sfn = template is null ? new byte[FatDirectoryEntries.EntrySize] : (byte[])template.Clone();
        shortName.CopyTo(sfn.AsSpan());
        sfn[11] = attr;
        sfn[12] = 0;
        SetFirstCluster(sfn, firstCluster);
        BinaryPrimitives.WriteUInt32LittleEndian(sfn.AsSpan(28), size);
        if (template is null)
        {
            Stamp(sfn, created: true);
        }
        int need = lfn.Length + 1;
        int start = FindFreeRun(dir.Bytes, need);
        while (start < 0)
        {
            dir = Grow(target, dir, name);
            start = FindFreeRun(dir.Bytes, need);
        }
        for (int i = 0; i < lfn.Length; i++)
        {
            target.WriteAt(dir.OffsetOf(start + i), lfn[i]);
        }
        long at = dir.OffsetOf(start + lfn.Length);
        target.WriteAt(at, sfn);
        return (ulong)at;
    }

    private static int FindFreeRun(byte[] bytes, int need)
    {
        int count = bytes.Length / FatDirectoryEntries.EntrySize;
        int run = 0;
        for (int i = 0; i < count; i++)
        {
            byte first = bytes[i * FatDirectoryEntries.EntrySize];
            if (first == 0)
            {
                // The end marker: readers stop here, so a name must start at or before it and may run
                // on through the (free) rest; a free run that lies beyond it would be invisible.
                int start = i - run;
                return count - start >= need ? start : -1;
            }
            if (first == FatDirectoryEntries.Deleted)
            {
                if (++run == need)
                {
                    return i - need + 1;
                }
            }
            else
            {
                run = 0;
            }
        }
        return -1;
    }

    private DirectoryView Grow(IWritableVolume target, DirectoryView dir, string forName)
    {
        if (dir.Clusters.Count == 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.FatNoSpace, Source, Source, "entries in the fixed-size root directory", forName);
        }
        if ((long)(dir.Clusters.Count + 1) * Boot.ClusterSize > MaxDirectoryBytes)
        {
            throw new LinuxImageException(DiagnosticCatalog.FatNoSpace, Source, Source, "entries in the directory (FAT's limit is 65,536)", forName);
        }
        var clusters = Resize(dir.Clusters, dir.Clusters.Count + 1, forName);
        target.WriteAt(Boot.ClusterOffset(clusters[^1]), new byte[Boot.ClusterSize]);
        // The entries were flushed to the volume already; the FAT follows at Commit.
        return OpenDirectoryAfterGrow(dir, clusters);
    }

    private DirectoryView OpenDirectoryAfterGrow(DirectoryView dir, List<uint> clusters)
    {
        var bytes = new byte[clusters.Count * Boot.ClusterSize];
        dir.Bytes.CopyTo(bytes, 0);
        return new DirectoryView
        {
            Node = dir.Node,
            FirstCluster = dir.FirstCluster,
            Clusters = clusters,
            Bytes = bytes,
            Entries = dir.Entries,
            FixedOffset = dir.FixedOffset,
            ClusterSize = dir.ClusterSize,
            DataOffset = dir.DataOffset,
        };
    }

    private static void MarkDeleted(IWritableVolume target, DirectoryView dir, FatEntry e)
    {
        for (int i = e.FirstSlot; i <= e.Index; i++)
        {
            target.WriteAt(dir.OffsetOf(i), [FatDirectoryEntries.Deleted]);
        }
    }

    /// <summary>Writes the changed FAT sectors to every copy, then the FSInfo hints.</summary>
    private void Commit(IWritableVolume target)
    {
        table.Flush(target);
        if (hasFsInfo)
        {
            long at = (long)Boot.FsInfoSector * Boot.BytesPerSector;
            var counts = new byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(counts, table.FreeCount);
            BinaryPrimitives.WriteUInt32LittleEndian(counts.AsSpan(4), nextFree);
            target.WriteAt(at + 488, counts);
        }
    }
}
