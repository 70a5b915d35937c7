using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>
/// One btrfs transaction, copy-on-write all the way (after btrfs-progs kernel-shared/ctree.c):
/// every tree block on the way to a changed item is copied to a newly allocated block of the new
/// generation, its parent pointed at the copy, up to a new root; the old blocks are freed (pinned:
/// never reused inside the transaction, so the committed trees stay whole until the superblock
/// moves). Nothing reaches the volume before <see cref="Commit"/>; anything thrown before it leaves
/// the volume as it was. A block another tree shares (a snapshot's) is never changed in place: it
/// is copied with the kernel's reference updates (<see cref="UpdateReferencesForCow"/>).
/// </summary>
internal sealed partial class BtrfsTransaction
{
    private const ulong ExtentFlagFullBackref = 1UL << 8;

    private readonly BtrfsTree reader;
    private readonly BtrfsSuperblock superblock;
    private readonly IWritableVolume volume;
    private readonly string source;
    private readonly Dictionary<ulong, BtrfsMutableNode> nodes = [];
    private readonly Dictionary<ulong, (ulong Bytenr, byte Level, ulong Generation)> roots = [];
    private readonly Dictionary<ulong, (ulong Bytenr, byte Level, ulong Generation)> committedRoots = [];
    private readonly Dictionary<ulong, BtrfsKey> rootItemKeys = [];
    private readonly byte[] chunkTreeUuid;

    public BtrfsTransaction(BtrfsTree reader, BtrfsSuperblock superblock, IWritableVolume volume, string source)
    {
        this.reader = reader;
        this.superblock = superblock;
        this.volume = volume;
        this.source = source;
        Transid = superblock.Generation + 1;
        NodeSize = (int)superblock.NodeSize;
        SectorSize = superblock.SectorSize;
        var rootTreeRoot = (superblock.RootTree, superblock.RootLevel, superblock.Generation);
        roots[BtrfsItem.RootTreeObjectId] = rootTreeRoot;
        committedRoots[BtrfsItem.RootTreeObjectId] = rootTreeRoot;
        // The chunk tree has no root item: the superblock says where it starts.
        var chunkRoot = (superblock.ChunkRoot, superblock.ChunkRootLevel, superblock.ChunkRootGeneration);
        roots[BtrfsItem.ChunkTreeObjectId] = chunkRoot;
        committedRoots[BtrfsItem.ChunkTreeObjectId] = chunkRoot;
        var top = Node(superblock.RootTree, superblock.RootLevel, superblock.Generation);
        chunkTreeUuid = top.ChunkTreeUuid;
        BytesUsed = superblock.BytesUsed;
        Skinny = (superblock.IncompatFlags & BtrfsSuperblock.IncompatSkinnyMetadata) != 0;
        HasFreeSpaceTree = (superblock.CompatRoFlags & BtrfsSuperblock.CompatRoFreeSpaceTree) != 0;
        BlockGroupTreeId = (superblock.CompatRoFlags & BtrfsSuperblock.CompatRoBlockGroupTree) != 0 ? BtrfsItem.BlockGroupTreeObjectId : BtrfsItem.ExtentTreeObjectId;
    }

    public ulong Transid { get; }

    public int NodeSize { get; }

    public uint SectorSize { get; }

    public bool Skinny { get; }

    public bool HasFreeSpaceTree { get; }

    public ulong BlockGroupTreeId { get; }

    public ulong BytesUsed { get; private set; }

    public BtrfsChecksum Checksum => reader.Checksum;

    /// <summary>The largest item a leaf holds.</summary>
    public int MaxItemSize => NodeSize - BtrfsNode.HeaderSize - BtrfsNode.ItemSize;

    /// <summary>BTRFS_LEAF_DATA_SIZE: a block's bytes after its header.</summary>
    public int LeafDataSize => NodeSize - BtrfsNode.HeaderSize;

    private int Capacity => LeafDataSize;

    // ---- Reading through the transaction's view -------------------------------------------

    /// <summary>The item with exactly this key in the transaction's view of a tree, or null.</summary>
    public byte[]? Find(ulong treeId, BtrfsKey key)
    {
        foreach (var (k, data) in Range(treeId, key, key))
        {
            return data;
        }
        return null;
    }

    /// <summary>Every item with min &lt;= key &lt;= max, in key order, as a list (the tree may change after).</summary>
    public List<(BtrfsKey Key, byte[] Data)> Range(ulong treeId, BtrfsKey min, BtrfsKey max)
    {
        var result = new List<(BtrfsKey, byte[])>();
        var root = Root(treeId);
        Collect(Node(root.Bytenr, root.Level, root.Generation), min, max, result);
        return result;
    }

    private void Collect(BtrfsMutableNode node, BtrfsKey min, BtrfsKey max, List<(BtrfsKey, byte[])> result)
    {
        if (node.IsLeaf)
        {
            for (int i = LeafLowerBound(node, min); i < node.Count && node.Keys[i] <= max; i++)
            {
                result.Add((node.Keys[i], node.Items[i]));
            }
            return;
        }
        for (int i = NodeSlot(node, min); i < node.Count && node.Keys[i] <= max; i++)
        {
            var (bytenr, generation) = node.Pointers[i];
            Collect(Node(bytenr, (byte)(node.Level - 1), generation), min, max, result);
        }
    }

    /// <summary>The largest key &lt;= <paramref name="key"/> in the tree, or null.</summary>
    public BtrfsKey? LastAtOrBelow(ulong treeId, BtrfsKey key)
    {
        var root = Root(treeId);
        return LastIn(Node(root.Bytenr, root.Level, root.Generation), key);
    }

    private BtrfsKey? LastIn(BtrfsMutableNode node, BtrfsKey key)
    {
        if (node.IsLeaf)
        {
            int i = LeafLowerBound(node, key);
            if (i < node.Count && node.Keys[i] == key)
            {
                return key;
            }
            return i > 0 ? node.Keys[i - 1] : null;
        }
        for (int slot = NodeSlot(node, key); slot >= 0; slot--)
        {
            var (bytenr, generation) = node.Pointers[slot];
            var found = LastIn(Node(bytenr, (byte)(node.Level - 1), generation), key);
            if (found is not null)
            {
                return found;
            }
        }
        return null;
    }

    /// <summary>Where a tree starts now (after this transaction's copies).</summary>
    public (ulong Bytenr, byte Level, ulong Generation) Root(ulong treeId)
    {
        if (roots.TryGetValue(treeId, out var root))
        {
            return root;
        }
        (BtrfsKey Key, byte[] Data)? last = null;
        foreach (var item in Range(BtrfsItem.RootTreeObjectId, new BtrfsKey(treeId, BtrfsItem.RootItem, 0), new BtrfsKey(treeId, BtrfsItem.RootItem, ulong.MaxValue)))
        {
            last = item;
        }
        if (last is null)
        {
            throw reader.Damaged($"tree {treeId} has no root item");
        }
        var parsed = BtrfsRootItem.Parse(last.Value.Data) ?? throw reader.Damaged($"the root item of tree {treeId} is {last.Value.Data.Length} bytes");
        if (parsed.Level >= BtrfsTree.MaxLevel)
        {
            throw reader.Damaged($"the root of tree {treeId} has level {parsed.Level}");
        }
        root = (parsed.Bytenr, parsed.Level, parsed.Generation);
        roots[treeId] = root;
        committedRoots[treeId] = root;
        rootItemKeys[treeId] = last.Value.Key;
        return root;
    }

    private BtrfsMutableNode Node(ulong bytenr, byte level, ulong generation)
    {
        if (nodes.TryGetValue(bytenr, out var node))
        {
            if (node.Level != level || node.Generation != generation)
            {
                throw reader.Damaged($"the tree block at {bytenr} has level {node.Level} and generation {node.Generation} where {level} and {generation} were expected");
            }
            return node;
        }
        node = BtrfsMutableNode.Parse(reader.ReadNode(bytenr, level, generation, null, null));
        nodes[bytenr] = node;
        return node;
    }

    private static int LeafLowerBound(BtrfsMutableNode node, BtrfsKey key)
    {
        int lo = 0;
        int hi = node.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (node.Keys[mid] < key)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    /// <summary>The child whose subtree holds <paramref name="key"/>: the last pointer &lt;= key, or the first.</summary>
    private static int NodeSlot(BtrfsMutableNode node, BtrfsKey key)
    {
        int lo = LeafLowerBound(node, key);
        if (lo < node.Count && node.Keys[lo] == key)
        {
            return lo;
        }
        return Math.Max(0, lo - 1);
    }

    // ---- Changing items -------------------------------------------------------------------

    public void Insert(ulong treeId, BtrfsKey key, byte[] data)
    {
        CheckItemSize(data);
        var path = CowPath(treeId, key);
        var (leaf, slot) = path[^1];
        if (slot < leaf.Count && leaf.Keys[slot] == key)
        {
            throw reader.Damaged($"the item {key} already exists in tree {treeId}");
        }
        leaf.Keys.Insert(slot, key);
        leaf.Items.Insert(slot, data);
        Rebalance(treeId, path);
    }

    /// <summary>Replaces an existing item's data (its size may change).</summary>
    public void Update(ulong treeId, BtrfsKey key, byte[] data)
    {
        CheckItemSize(data);
        var path = CowPath(treeId, key);
        var (leaf, slot) = path[^1];
        if (slot >= leaf.Count || leaf.Keys[slot] != key)
        {
            throw reader.Damaged($"the item {key} is missing from tree {treeId}");
        }
        leaf.Items[slot] = data;
        Rebalance(treeId, path);
    }

    public void Delete(ulong treeId, BtrfsKey key)
    {
        var path = CowPath(treeId, key);
        var (leaf, slot) = path[^1];
        if (slot >= leaf.Count || leaf.Keys[slot] != key)
        {
            throw reader.Damaged($"the item {key} is missing from tree {treeId}");
        }
        leaf.RemoveAt(slot);
        Rebalance(treeId, path);
    }

    private void CheckItemSize(byte[] data)
    {
        if (data.Length > MaxItemSize)
        {
            throw new ArgumentException($"An item of {data.Length} bytes does not fit a {NodeSize}-byte leaf.", nameof(data));
        }
    }

    /// <summary>The path (root first) to the leaf slot where <paramref name="key"/> is or would go, every block on it this transaction's own.</summary>
    private List<(BtrfsMutableNode Node, int Slot)> CowPath(ulong treeId, BtrfsKey key)
    {
        var path = new List<(BtrfsMutableNode, int)>();
        var root = Root(treeId);
        var node = Cow(treeId, Node(root.Bytenr, root.Level, root.Generation), null, 0);
        // Levels fall by one per step (Node checks them), so this ends within MaxLevel steps.
        while (!node.IsLeaf)
        {
            int slot = NodeSlot(node, key);
            var (bytenr, generation) = node.Pointers[slot];
            var child = Cow(treeId, Node(bytenr, (byte)(node.Level - 1), generation), node, slot);
            path.Add((node, slot));
            node = child;
        }
        path.Add((node, LeafLowerBound(node, key)));
        return path;
    }

    private BtrfsMutableNode Cow(ulong treeId, BtrfsMutableNode node, BtrfsMutableNode? parent, int slot)
    {
        if (node.Generation == Transid)
        {
            return node;
        }
        bool lastReference = UpdateReferencesForCow(treeId, node);
        ulong bytenr = AllocateTreeBlock(treeId, node.Level);
        var copy = node.CopyTo(bytenr, Transid, treeId);
        nodes[bytenr] = copy;
        if (lastReference)
        {
            FreeCommittedBlock(node.Bytenr, node.Level);
        }
        if (parent is null)
        {
            roots[treeId] = (bytenr, node.Level, Transid);
        }
        else
        {
            parent.Pointers[slot] = (bytenr, Transid);
        }
        return copy;
    }

    private readonly Dictionary<ulong, BtrfsKey> blockKeys = [];

    /// <summary>
    /// Splits overfull blocks, drops empty ones and keeps each parent's key equal to its child's
    /// first key, from the leaf up; a root that splits gets a new root above it.
    /// </summary>
    private void Rebalance(ulong treeId, List<(BtrfsMutableNode Node, int Slot)> path)
    {
        for (int level = path.Count - 1; level >= 0; level--)
        {
            var node = path[level].Node;
            var parent = level > 0 ? path[level - 1].Node : null;
            int parentSlot = level > 0 ? path[level - 1].Slot : -1;
            if (node.UsedBytes > Capacity)
            {
                var pieces = Split(treeId, node);
                if (parent is null)
                {
                    var newRoot = NewBlock(treeId, (byte)(node.Level + 1));
                    foreach (var piece in pieces)
                    {
                        newRoot.Keys.Add(piece.Keys[0]);
                        newRoot.Pointers.Add((piece.Bytenr, Transid));
                    }
                    roots[treeId] = (newRoot.Bytenr, newRoot.Level, Transid);
                }
                else
                {
                    parent.Keys[parentSlot] = node.Keys[0];
                    for (int k = 1; k < pieces.Count; k++)
                    {
                        parent.Keys.Insert(parentSlot + k, pieces[k].Keys[0]);
                        parent.Pointers.Insert(parentSlot + k, (pieces[k].Bytenr, Transid));
                    }
                }
            }
            else if (node.Count == 0 && parent is not null)
            {
                parent.RemoveAt(parentSlot);
                FreeBlock(node);
            }
            else if (parent is not null)
            {
                parent.Keys[parentSlot] = node.Keys[0];
            }
        }
        // A root node left with one child gives way to it; one left with none becomes an empty leaf.
        for (int guard = 0; guard < BtrfsTree.MaxLevel; guard++)
        {
            var root = roots[treeId];
            var top = Node(root.Bytenr, root.Level, root.Generation);
            if (top.IsLeaf || top.Count > 1 || top.Generation != Transid)
            {
                break;
            }
            if (top.Count == 0)
            {
                var leaf = NewBlock(treeId, 0);
                roots[treeId] = (leaf.Bytenr, 0, Transid);
            }
            else
            {
                var (bytenr, generation) = top.Pointers[0];
                if (generation != Transid)
                {
                    break;
                }
                roots[treeId] = (bytenr, (byte)(top.Level - 1), generation);
            }
            FreeBlock(top);
        }
    }

    /// <summary>Cuts an overfull block into pieces that each fit, the first staying in place.</summary>
    private List<BtrfsMutableNode> Split(ulong treeId, BtrfsMutableNode node)
    {
        int total = node.UsedBytes;
        int pieceCount = (total + Capacity - 1) / Capacity;
        int target = (total + pieceCount - 1) / pieceCount;
        var starts = new List<int> { 0 };
        int current = 0;
        for (int i = 0; i < node.Count; i++)
        {
            int size = node.IsLeaf ? BtrfsNode.ItemSize + node.Items[i].Length : BtrfsNode.KeyPtrSize;
            if (current > 0 && (current + size > Capacity || current >= target))
            {
                starts.Add(i);
                current = 0;
            }
            current += size;
        }
        var pieces = new List<BtrfsMutableNode> { node };
        for (int k = starts.Count - 1; k >= 1; k--)
        {
            var sibling = NewBlock(treeId, node.Level);
            node.MoveTail(starts[k], sibling);
            pieces.Insert(1, sibling);
        }
        return pieces;
    }

    private BtrfsMutableNode NewBlock(ulong treeId, byte level)
    {
        ulong bytenr = AllocateTreeBlock(treeId, level);
        var node = new BtrfsMutableNode(bytenr, level, Transid, treeId, chunkTreeUuid);
        nodes[bytenr] = node;
        return node;
    }

    private void FreeBlock(BtrfsMutableNode node)
    {
        nodes.Remove(node.Bytenr);
        if (node.Generation == Transid)
        {
            ReleaseNewTreeBlock(node.Bytenr, node.Level);
        }
        else
        {
            FreeCommittedBlock(node.Bytenr, node.Level);
        }
    }

    // ---- Writing --------------------------------------------------------------------------

    /// <summary>Writes bytes at a logical address, to every copy (DUP).</summary>
    public void WriteLogical(ulong logical, ReadOnlySpan<byte> data)
    {
        var chunk = FindChunk(logical, (ulong)data.Length, out ulong offset);
        foreach (long physical in chunk.Physical)
        {
            volume.WriteAt(physical + (long)offset, data);
        }
    }

    private static ulong U64(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(b[offset..]);
}
