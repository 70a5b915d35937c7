using System.Buffers.Binary;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>
/// One mounted btrfs subvolume, read as the kernel shows it: the subvolume fstab names (subvol=,
/// subvolid=) or else the default subvolume, with nested subvolumes entered through their
/// directory entries, and a subvolume a snapshot did not take along shown as an empty directory.
/// Node numbers are inode numbers in the mounted subvolume; an inode of a nested subvolume carries
/// that subvolume's index in the top 16 bits.
/// </summary>
public sealed partial class BtrfsFileSystem : IFileSystem
{
    private const int TreeShift = 48;
    private const ulong InodeMask = (1UL << TreeShift) - 1;
    private const int EmptyDirTree = 0xFFFF;

    /// <summary>The stand-in the kernel shows for a nested subvolume a snapshot does not hold (new_simple_dir).</summary>
    private static readonly ulong EmptyDirNode = ((ulong)EmptyDirTree << TreeShift) | BtrfsItem.EmptySubvolumeDirObjectId;

    private readonly BtrfsSuperblock superblock;
    private readonly BtrfsTree tree;
    private readonly IReadableVolume volume;
    private BtrfsRoot rootTree;

    // Index 0 is the mounted subvolume; others are added as lookups enter nested subvolumes.
    private readonly List<(ulong Id, BtrfsRoot Root, ulong ParentNode)> subvolumes = [];

    private BtrfsFileSystem(IReadableVolume volume, string source, BtrfsSuperblock superblock, BtrfsTree tree)
    {
        this.volume = volume;
        Source = source;
        this.superblock = superblock;
        this.tree = tree;
        rootTree = new BtrfsRoot(superblock.RootTree, superblock.RootLevel, superblock.Generation);
    }

    public string TypeName => "btrfs";

    /// <summary>The file name used in diagnostics.</summary>
    public string Source { get; }

    public Guid Uuid => superblock.FsId;

    public string? Label => superblock.Label;

    /// <summary>The id of the mounted subvolume (5 is the top level).</summary>
    public ulong SubvolumeId => subvolumes[0].Id;

    public ulong RootNode => BtrfsItem.FirstFreeObjectId;

    public Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;


    public FileSystemSpace Space => new((long)Math.Min(superblock.TotalBytes, long.MaxValue),
        (long)Math.Min(superblock.TotalBytes - Math.Min(superblock.BytesUsed, superblock.TotalBytes), long.MaxValue));

    /// <summary>
    /// Opens the file system on <paramref name="volume"/> and mounts the subvolume
    /// <paramref name="options"/> (fstab mount options) select, or the default subvolume.
    /// </summary>
    public static BtrfsFileSystem Open(IReadableVolume volume, string source, string options = "")
    {
        var superblock = BtrfsSuperblock.ReadPrimary(volume, source);
        if (superblock.LogRoot != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsNeedsLogReplay, source, source);
        }
        var chunks = new BtrfsChunkMap(source, volume.Length, superblock.DeviceId);
        chunks.AddSystemChunkArray(superblock.SysChunkArray);
        var tree = new BtrfsTree(volume, source, superblock, chunks);
        LoadChunkTree(tree, superblock, source);
        var fs = new BtrfsFileSystem(volume, source, superblock, tree);
        fs.Mount(options ?? string.Empty);
        return fs;
    }

    /// <summary>
    /// Adds the chunk tree's chunks to the tree's map (chunks already known are checked for
    /// agreement, so after another instance's commit this adds the chunks it allocated).
    /// </summary>
    private static void LoadChunkTree(BtrfsTree tree, BtrfsSuperblock superblock, string source)
    {
        var chunkRoot = new BtrfsRoot(superblock.ChunkRoot, superblock.ChunkRootLevel, superblock.ChunkRootGeneration);
        int devices = 0;
        foreach (var item in tree.Range(chunkRoot, new BtrfsKey(0, 0, 0), new BtrfsKey(ulong.MaxValue, byte.MaxValue, ulong.MaxValue)))
        {
            if (item.Key.Type == BtrfsItem.ChunkItem)
            {
                if (item.Data.Length < BtrfsChunkMap.ChunkHeaderSize)
                {
                    throw tree.Damaged($"the chunk item at logical {item.Key.Offset} is {item.Data.Length} bytes");
                }
                tree.Chunks.Add(item.Key.Offset, item.Data.Span);
            }
            else if (item.Key.Type == BtrfsItem.DevItem)
            {
                devices++;
            }
        }
        if (devices > 1)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsUnsupported, source, source,
                $"the chunk tree lists {devices} devices (the SDK reads single-device btrfs only)");
        }
    }

    private void Mount(string options)
    {
        string? subvol = null;
        ulong? subvolId = null;
        foreach (string option in options.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (option.StartsWith("subvol=", StringComparison.Ordinal))
            {
                subvol = option["subvol=".Length..];
            }
            else if (option.StartsWith("subvolid=", StringComparison.Ordinal))
            {
                if (!ulong.TryParse(option["subvolid=".Length..], out ulong id))
                {
                    throw NoSubvolume(options, $"'{option}' is not a number");
                }
                // The kernel reads subvolid=0 as the top level.
                subvolId = id == 0 ? BtrfsItem.FsTreeObjectId : id;
            }
        }

        ulong selected;
        if (subvol is not null)
        {
            selected = ResolveSubvolumePath(subvol, options);
            if (subvolId is not null && subvolId != selected)
            {
                throw NoSubvolume(options, $"subvol={subvol} is subvolume {selected}, not subvolid={subvolId}");
            }
        }
        else
        {
            selected = subvolId ?? DefaultSubvolume();
        }
        var root = SubvolumeRoot(selected) ?? throw NoSubvolume(options, $"subvolume {selected} does not exist");
        subvolumes.Clear();
        subvolumes.Add((selected, root, 0));
        CheckSubvolumeRoot(0);
    }

    /// <summary>A subvolume's root inode must be a directory, or every path through it would fail in the wrong way.</summary>
    private void CheckSubvolumeRoot(int index)
    {
        var kind = Inode(index, BtrfsItem.FirstFreeObjectId).Kind;
        if (kind != FileSystemNodeKind.Directory)
        {
            throw tree.Damaged($"the root of subvolume {subvolumes[index].Id} is not a directory (its inode is of kind {kind})");
        }
    }

    /// <summary>The subvolume 'btrfs subvolume set-default' chose: the "default" entry of the root tree's directory, else the top level.</summary>
    private ulong DefaultSubvolume()
    {
        var name = "default"u8.ToArray();
        var item = tree.Find(rootTree, new BtrfsKey(BtrfsItem.RootTreeDirObjectId, BtrfsItem.DirItem, NameHash(name)));
        if (item is null)
        {
            return BtrfsItem.FsTreeObjectId;
        }
        foreach (var e in ParseEntries(item.Value, "the default subvolume entry"))
        {
            if (e.Name.Span.SequenceEqual(name))
            {
                return e.Location.ObjectId;
            }
        }
        return BtrfsItem.FsTreeObjectId;
    }

    /// <summary>subvol= is a path from the top level (whatever the default is) that must end at a subvolume's root.</summary>
    private ulong ResolveSubvolumePath(string subvol, string options)
    {
        var top = SubvolumeRoot(BtrfsItem.FsTreeObjectId) ?? throw tree.Damaged("the top-level subvolume (5) has no root item");
        subvolumes.Clear();
        subvolumes.Add((BtrfsItem.FsTreeObjectId, top, 0));
        CheckSubvolumeRoot(0);
        ulong node = RootNode;
        foreach (string part in subvol.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }
            if (Stat(node).Kind != FileSystemNodeKind.Directory)
            {
                throw NoSubvolume(options, $"'{subvol}' passes through something that is not a directory");
            }
            node = Lookup(node, part) ?? throw NoSubvolume(options, $"'{subvol}' does not exist");
        }
        var (index, inode) = Split(node);
        if (index == EmptyDirTree || inode != BtrfsItem.FirstFreeObjectId)
        {
            throw NoSubvolume(options, $"'{subvol}' is not the root of a subvolume");
        }
        return subvolumes[index].Id;
    }

    /// <summary>
    /// The ids of every live subvolume and snapshot (5, the top level, first), for a caller that must
    /// find the guest's root when neither the default subvolume nor fstab names it (Fedora boots
    /// <c>subvol=root</c> from the kernel command line): open each with <c>subvolid=</c>.
    /// </summary>
    public IReadOnlyList<ulong> SubvolumeIds()
    {
        var ids = new List<ulong> { BtrfsItem.FsTreeObjectId };
        foreach (var item in tree.Range(rootTree, new BtrfsKey(BtrfsItem.FirstFreeObjectId, 0, 0), new BtrfsKey(BtrfsItem.LastFreeObjectId, byte.MaxValue, ulong.MaxValue)))
        {
            if (item.Key.Type == BtrfsItem.RootItem && ids[^1] != item.Key.ObjectId && SubvolumeRoot(item.Key.ObjectId) is not null)
            {
                ids.Add(item.Key.ObjectId);
            }
        }
        return ids;
    }

    /// <summary>Where the tree of subvolume <paramref name="id"/> starts, or null when it has none (or is being deleted).</summary>
    private BtrfsRoot? SubvolumeRoot(ulong id)
    {
        if (id != BtrfsItem.FsTreeObjectId && (id < BtrfsItem.FirstFreeObjectId || id > BtrfsItem.LastFreeObjectId))
        {
            return null;
        }
        BtrfsLeafItem? last = null;
        foreach (var item in tree.Range(rootTree, new BtrfsKey(id, BtrfsItem.RootItem, 0), new BtrfsKey(id, BtrfsItem.RootItem, ulong.MaxValue)))
        {
            last = item;
        }
        if (last is null)
        {
            return null;
        }
        var root = BtrfsRootItem.Parse(last.Value.Data.Span) ?? throw tree.Damaged($"the root item of subvolume {id} is {last.Value.Data.Length} bytes");
        if (root.Refs == 0)
        {
            return null;
        }
        if (root.Level >= BtrfsTree.MaxLevel || root.Bytenr == 0)
        {
            throw tree.Damaged($"the root item of subvolume {id} has level {root.Level} at {root.Bytenr}");
        }
        return new BtrfsRoot(root.Bytenr, root.Level, root.Generation);
    }

    public FileSystemNodeInfo Stat(ulong node)
    {
        var (index, inode) = Split(node);
        if (index == EmptyDirTree)
        {
            return new FileSystemNodeInfo(node, FileSystemNodeKind.Directory, 0, 0x4000 | 0x1ED, 0, 0, 1);
        }
        var item = Inode(index, inode);
        return new FileSystemNodeInfo(node, item.Kind, (long)Math.Min(item.Size, long.MaxValue), (int)item.Mode, (int)item.Uid, (int)item.Gid, (int)Math.Min(item.Links, int.MaxValue));
    }

    public ulong? Lookup(ulong directory, string name)
    {
        var (index, inode) = SplitDirectory(directory);
        if (index == EmptyDirTree)
        {
            return name == "." ? directory : null;
        }
        if (name == ".")
        {
            return directory;
        }
        if (name == "..")
        {
            return Parent(index, inode);
        }
        if (name.Length == 0 || name.Contains('/') || name.Contains('\0'))
        {
            return null;
        }
        var bytes = Encoding.UTF8.GetBytes(name);
        if (bytes.Length > BtrfsDirEntry.MaxNameLength)
        {
            return null;
        }
        var item = tree.Find(subvolumes[index].Root, new BtrfsKey(inode, BtrfsItem.DirItem, NameHash(bytes)));
        if (item is null)
        {
            return null;
        }
        foreach (var e in ParseEntries(item.Value, $"the directory {inode}"))
        {
            if (e.Name.Span.SequenceEqual(bytes))
            {
                return Target(index, inode, e);
            }
        }
        return null;
    }

    public IReadOnlyList<FileSystemDirectoryEntry> ListDirectory(ulong directory)
    {
        var (index, inode) = SplitDirectory(directory);
        var result = new List<FileSystemDirectoryEntry>();
        if (index == EmptyDirTree)
        {
            return result;
        }
        // DIR_INDEX items give readdir's order; each holds exactly one entry.
        foreach (var item in tree.Range(subvolumes[index].Root, new BtrfsKey(inode, BtrfsItem.DirIndex, 0), new BtrfsKey(inode, BtrfsItem.DirIndex, ulong.MaxValue)))
        {
            var entries = ParseEntries(item.Data, $"the directory {inode}");
            if (entries.Count != 1)
            {
                throw tree.Damaged($"the directory index item {item.Key} of subvolume {subvolumes[index].Id} holds {entries.Count} entries");
            }
            var e = entries[0];
            ulong target = Target(index, inode, e);
            var kind = e.Location.Type == BtrfsItem.RootItem ? FileSystemNodeKind.Directory : e.Kind;
            result.Add(new FileSystemDirectoryEntry(Encoding.UTF8.GetString(e.Name.Span), target, kind));
        }
        return result;
    }

    public byte[] ReadFile(ulong node)
    {
        var (index, inode) = Split(node);
        if (index == EmptyDirTree)
        {
            throw new IOException($"Node {node} is a directory.");
        }
        var item = Inode(index, inode);
        if (item.Kind != FileSystemNodeKind.File)
        {
            throw new IOException($"Node {node} is not a regular file.");
        }
        return ReadData(index, inode, item);
    }

    public string ReadSymlink(ulong node)
    {
        var (index, inode) = Split(node);
        if (index == EmptyDirTree)
        {
            throw new IOException($"Node {node} is a directory.");
        }
        var item = Inode(index, inode);
        if (item.Kind != FileSystemNodeKind.Symlink)
        {
            throw new IOException($"Node {node} is not a symbolic link.");
        }
        if (item.Size == 0 || item.Size > 4095)
        {
            throw tree.Damaged($"the symbolic link {inode} of subvolume {subvolumes[index].Id} has the length {item.Size}");
        }
        return Encoding.UTF8.GetString(ReadData(index, inode, item));
    }

    public IReadOnlyDictionary<string, byte[]> ReadXattrs(ulong node)
    {
        var (index, inode) = Split(node);
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (index == EmptyDirTree)
        {
            return result;
        }
        foreach (var item in tree.Range(subvolumes[index].Root, new BtrfsKey(inode, BtrfsItem.XattrItem, 0), new BtrfsKey(inode, BtrfsItem.XattrItem, ulong.MaxValue)))
        {
            foreach (var e in ParseEntries(item.Data, $"the extended attributes of inode {inode}"))
            {
                result[Encoding.UTF8.GetString(e.Name.Span)] = e.Data.ToArray();
            }
        }
        return result;
    }

    /// <summary>btrfs_name_hash: the raw CRC-32C register seeded with ~1, without the final inversion.</summary>
    internal static ulong NameHash(ReadOnlySpan<byte> name) => Crc32C.Update(0xFFFFFFFE, name);

    private List<BtrfsDirEntry> ParseEntries(ReadOnlyMemory<byte> item, string what) =>
        BtrfsDirEntry.ParseAll(item, (int)superblock.NodeSize) ?? throw tree.Damaged($"an entry of {what} overruns its item");

    /// <summary>The node a directory entry names: an inode of the same subvolume, or the root of a nested subvolume.</summary>
    private ulong Target(int index, ulong directory, BtrfsDirEntry e)
    {
        if (e.Location.Type == BtrfsItem.InodeItem)
        {
            return Node(index, e.Location.ObjectId);
        }
        if (e.Location.Type != BtrfsItem.RootItem)
        {
            throw tree.Damaged($"a directory entry of inode {directory} points to a key of type {e.Location.Type}");
        }
        return EnterSubvolume(index, directory, e);
    }

    /// <summary>
    /// As the kernel's fixup_tree_root_location: the entry leads into the subvolume only when the
    /// root tree's ROOT_REF from this subvolume names this directory and name; otherwise (a snapshot
    /// of a tree that held a nested subvolume) it is an empty stand-in directory.
    /// </summary>
    private ulong EnterSubvolume(int index, ulong directory, BtrfsDirEntry e)
    {
        ulong parentId = subvolumes[index].Id;
        ulong childId = e.Location.ObjectId;
        var reference = tree.Find(rootTree, new BtrfsKey(parentId, BtrfsItem.RootRef, childId));
        if (reference is null)
        {
            return EmptyDirNode;
        }
        var r = reference.Value.Span;
        if (r.Length < 18)
        {
            throw tree.Damaged($"the root reference from subvolume {parentId} to {childId} is {r.Length} bytes");
        }
        ulong dirId = BinaryPrimitives.ReadUInt64LittleEndian(r);
        int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(r[16..]);
        if (18 + nameLength > r.Length)
        {
            throw tree.Damaged($"the root reference from subvolume {parentId} to {childId} overruns its item");
        }
        if (dirId != directory || !r.Slice(18, nameLength).SequenceEqual(e.Name.Span))
        {
            return EmptyDirNode;
        }
        for (int i = 0; i < subvolumes.Count; i++)
        {
            if (subvolumes[i].Id == childId)
            {
                return Node(i, BtrfsItem.FirstFreeObjectId);
            }
        }
        var root = SubvolumeRoot(childId) ?? throw tree.Damaged($"the subvolume {childId} that directory {directory} of subvolume {parentId} names has no root");
        if (subvolumes.Count >= EmptyDirTree)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsUnsupported, Source, Source, $"more than {EmptyDirTree - 1} nested subvolumes under one mount");
        }
        subvolumes.Add((childId, root, Node(index, directory)));
        try
        {
            CheckSubvolumeRoot(subvolumes.Count - 1);
        }
        catch
        {
            subvolumes.RemoveAt(subvolumes.Count - 1);
            throw;
        }
        return Node(subvolumes.Count - 1, BtrfsItem.FirstFreeObjectId);
    }

    private ulong Parent(int index, ulong inode)
    {
        if (inode == BtrfsItem.FirstFreeObjectId)
        {
            // The mounted root is its own parent; a nested subvolume's root goes back where it was entered.
            return index == 0 ? Node(0, inode) : subvolumes[index].ParentNode;
        }
        foreach (var item in tree.Range(subvolumes[index].Root, new BtrfsKey(inode, BtrfsItem.InodeRef, 0), new BtrfsKey(inode, BtrfsItem.InodeRef, ulong.MaxValue)))
        {
            return Node(index, item.Key.Offset);
        }
        throw tree.Damaged($"the directory {inode} of subvolume {subvolumes[index].Id} has no parent reference");
    }

    private BtrfsInodeItem Inode(int index, ulong inode)
    {
        var data = tree.Find(subvolumes[index].Root, new BtrfsKey(inode, BtrfsItem.InodeItem, 0))
            ?? throw tree.Damaged($"inode {inode} of subvolume {subvolumes[index].Id} has no inode item");
        return BtrfsInodeItem.Parse(data.Span) ?? throw tree.Damaged($"the inode item of {inode} in subvolume {subvolumes[index].Id} is {data.Length} bytes");
    }

    private (int Index, ulong Inode) SplitDirectory(ulong node)
    {
        var (index, inode) = Split(node);
        if (index != EmptyDirTree && Inode(index, inode).Kind != FileSystemNodeKind.Directory)
        {
            throw new IOException($"Node {node} is not a directory.");
        }
        return (index, inode);
    }

    private (int Index, ulong Inode) Split(ulong node)
    {
        FollowCommits();
        int index = (int)(node >> TreeShift);
        ulong inode = node & InodeMask;
        if (node == EmptyDirNode)
        {
            return (EmptyDirTree, inode);
        }
        if (index >= subvolumes.Count || inode == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(node), $"Node {node} was not handed out by this file system.");
        }
        return (index, inode);
    }

    private ulong Node(int index, ulong inode)
    {
        if (inode > InodeMask || inode < BtrfsItem.FirstFreeObjectId)
        {
            throw tree.Damaged($"a directory entry of subvolume {subvolumes[index].Id} names the inode {inode}");
        }
        return ((ulong)index << TreeShift) | inode;
    }

    private LinuxImageException NoSubvolume(string options, string why) => new(DiagnosticCatalog.BtrfsSubvolumeNotFound, Source, Source, options, why);
}
