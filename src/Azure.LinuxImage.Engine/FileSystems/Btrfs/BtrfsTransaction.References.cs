using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>
/// Back references (after btrfs-progs kernel-shared/extent-tree.c): adding and dropping one
/// reference of an extent item, inline while the item stays small (sorted by type, then by
/// descending offset or data-reference hash, as the kernel's lookups expect), else as its own keyed
/// item; and the copy of a block shared with a snapshot (update_ref_for_cow), which moves the
/// children's references so that both the snapshot and this tree still reach them.
/// </summary>
internal sealed partial class BtrfsTransaction
{
    private readonly record struct Reference(byte Type, ulong RootOrParent, ulong Owner, ulong Offset, uint Count)
    {
        public int Size => Type switch
        {
            BtrfsItem.ExtentDataRef => 29,
            BtrfsItem.SharedDataRef => 13,
            _ => 9,
        };

        public bool Counted => Type is BtrfsItem.ExtentDataRef or BtrfsItem.SharedDataRef;

        public ulong SortKey => Type == BtrfsItem.ExtentDataRef ? DataRefHash(RootOrParent, Owner, Offset) : RootOrParent;
    }

    /// <summary>BTRFS_MAX_EXTENT_ITEM_SIZE: beyond it, references go into keyed items.</summary>
    private int MaxExtentItemSize => (LeafDataSize >> 4) - BtrfsNode.ItemSize;

    /// <summary>hash_extent_data_ref: raw CRC-32C registers of the root, and of the inode and offset.</summary>
    public static ulong DataRefHash(ulong root, ulong owner, ulong offset)
    {
        Span<byte> le = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(le, root);
        uint high = Crc32C.Update(uint.MaxValue, le);
        BinaryPrimitives.WriteUInt64LittleEndian(le, owner);
        uint low = Crc32C.Update(uint.MaxValue, le);
        BinaryPrimitives.WriteUInt64LittleEndian(le, offset);
        low = Crc32C.Update(low, le);
        return ((ulong)high << 31) ^ low;
    }

    /// <summary>One data reference more or fewer; at none the extent, its checksums and its space go. Returns the references left.</summary>
    public ulong ChangeDataReference(ulong bytenr, ulong length, byte type, ulong rootOrParent, ulong owner, ulong offset, int delta)
    {
        ulong left = ChangeReference(new BtrfsKey(bytenr, BtrfsItem.ExtentItem, length), true, new Reference(type, rootOrParent, owner, offset, 0), delta);
        if (left == 0)
        {
            DeleteChecksums(bytenr, length);
            FreeData(bytenr, length);
        }
        return left;
    }

    private ulong ChangeTreeBlockReference(ulong bytenr, byte level, byte type, ulong rootOrParent, int delta)
    {
        var key = ExtentKeyOfBlock(bytenr, level);
        ulong left = ChangeReference(key, false, new Reference(type, rootOrParent, 0, 0, 0), delta);
        if (left == 0)
        {
            // The item is gone already; the space is free once this commits.
            var g = Group(bytenr);
            if (!g.Pinned.Add(bytenr, (ulong)NodeSize))
            {
                throw reader.Damaged($"the tree block at {bytenr} is freed twice");
            }
            Account(g, (ulong)NodeSize, allocate: false);
        }
        return left;
    }

    private BtrfsKey ExtentKeyOfBlock(ulong bytenr, byte level)
    {
        var key = TreeBlockKey(bytenr, level);
        if (Find(BtrfsItem.ExtentTreeObjectId, key) is null && Skinny)
        {
            // A file system converted to skinny metadata keeps its older full extent items.
            key = new BtrfsKey(bytenr, BtrfsItem.ExtentItem, (ulong)NodeSize);
        }
        return key;
    }

    private ulong ChangeReference(BtrfsKey key, bool data, Reference change, int delta)
    {
        var item = Find(BtrfsItem.ExtentTreeObjectId, key) ?? throw reader.Damaged($"the extent at {key.ObjectId} has no extent item {key}");
        if (item.Length < BtrfsExtentItem.HeaderSize)
        {
            throw reader.Damaged($"the extent item {key} is {item.Length} bytes");
        }
        bool full = !data && key.Type == BtrfsItem.ExtentItem;
        var parsed = BtrfsExtentItem.Parse(item, full);
        if (parsed.Refs.Any(r => r.Type == 0))
        {
            throw reader.Damaged($"the extent item {key} holds a reference it cannot parse");
        }
        int headerLength = BtrfsExtentItem.HeaderSize + (full && (parsed.Flags & BtrfsExtentItem.FlagTreeBlock) != 0 ? 18 : 0);
        var refs = parsed.Refs.Select(r => new Reference(r.Type, r.Root, r.ObjectId, r.Offset, r.Count)).ToList();
        int index = refs.FindIndex(r => r.Type == change.Type && r.RootOrParent == change.RootOrParent
            && (change.Type != BtrfsItem.ExtentDataRef || (r.Owner == change.Owner && r.Offset == change.Offset)));
        if (index >= 0)
        {
            long count = (long)refs[index].Count + delta;
            if (count < 0 || (!change.Counted && delta > 0))
            {
                throw reader.Damaged($"the extent item {key} would count a reference wrongly");
            }
            if (count == 0)
            {
                refs.RemoveAt(index);
            }
            else
            {
                refs[index] = refs[index] with { Count = (uint)count };
            }
        }
        else if (delta > 0 && headerLength + refs.Sum(r => r.Size) + change.Size <= MaxExtentItemSize)
        {
            refs.Add(change with { Count = (uint)delta });
        }
        else
        {
            ChangeKeyedReference(key.ObjectId, change, delta);
        }
        long total = (long)parsed.RefCount + delta;
        if (total < 0)
        {
            throw reader.Damaged($"the extent item {key} would have fewer than no references");
        }
        if (total == 0)
        {
            if (refs.Count > 0)
            {
                throw reader.Damaged($"the extent item {key} counts no references but holds some");
            }
            Delete(BtrfsItem.ExtentTreeObjectId, key);
            return 0;
        }
        var updated = new byte[headerLength + refs.Sum(r => r.Size)];
        item.AsSpan(0, headerLength).CopyTo(updated);
        BinaryPrimitives.WriteUInt64LittleEndian(updated, (ulong)total);
        int pos = headerLength;
        foreach (var r in refs.OrderBy(r => r.Type).ThenByDescending(r => r.SortKey))
        {
            var span = updated.AsSpan(pos);
            span[0] = r.Type;
            BinaryPrimitives.WriteUInt64LittleEndian(span[1..], r.RootOrParent);
            if (r.Type == BtrfsItem.ExtentDataRef)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(span[9..], r.Owner);
                BinaryPrimitives.WriteUInt64LittleEndian(span[17..], r.Offset);
                BinaryPrimitives.WriteUInt32LittleEndian(span[25..], r.Count);
            }
            else if (r.Type == BtrfsItem.SharedDataRef)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(span[9..], r.Count);
            }
            pos += r.Size;
        }
        Update(BtrfsItem.ExtentTreeObjectId, key, updated);
        return (ulong)total;
    }

    /// <summary>A reference kept as its own item: (bytenr, type, root, parent or data-reference hash).</summary>
    private void ChangeKeyedReference(ulong bytenr, Reference change, int delta)
    {
        ulong offset = change.Type == BtrfsItem.ExtentDataRef ? change.SortKey : change.RootOrParent;
        var key = new BtrfsKey(bytenr, change.Type, offset);
        var existing = Find(BtrfsItem.ExtentTreeObjectId, key);
        if (existing is not null && change.Type == BtrfsItem.ExtentDataRef
            && (existing.Length < 28 || BinaryPrimitives.ReadUInt64LittleEndian(existing) != change.RootOrParent
                || BinaryPrimitives.ReadUInt64LittleEndian(existing.AsSpan(8)) != change.Owner || BinaryPrimitives.ReadUInt64LittleEndian(existing.AsSpan(16)) != change.Offset))
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsWriteUnsupported, source, source,
                $"two data references of the extent at {bytenr} share one hash, which the SDK does not resolve");
        }
        if (existing is null)
        {
            if (delta < 0)
            {
                throw new LinuxImageException(DiagnosticCatalog.BtrfsWriteUnsupported, source, source,
                    $"the extent at {bytenr} has no reference of type {change.Type} from {change.RootOrParent} to drop (it is reached another way, e.g. through a snapshot's shared block)");
            }
            Insert(BtrfsItem.ExtentTreeObjectId, key, change.Type switch
            {
                BtrfsItem.ExtentDataRef => DataRefBody(change, (uint)delta),
                BtrfsItem.SharedDataRef => BitConverter.GetBytes((uint)delta),
                _ => [],
            });
            return;
        }
        if (!change.Counted)
        {
            if (delta > 0)
            {
                throw reader.Damaged($"the extent at {bytenr} already holds the reference {key}");
            }
            Delete(BtrfsItem.ExtentTreeObjectId, key);
            return;
        }
        int countAt = change.Type == BtrfsItem.ExtentDataRef ? 24 : 0;
        long count = (long)BinaryPrimitives.ReadUInt32LittleEndian(existing.AsSpan(countAt)) + delta;
        if (count < 0)
        {
            throw reader.Damaged($"the reference {key} would count less than nothing");
        }
        if (count == 0)
        {
            Delete(BtrfsItem.ExtentTreeObjectId, key);
            return;
        }
        var data = (byte[])existing.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(countAt), (uint)count);
        Update(BtrfsItem.ExtentTreeObjectId, key, data);
    }

    private static byte[] DataRefBody(Reference r, uint count)
    {
        var body = new byte[28];
        BinaryPrimitives.WriteUInt64LittleEndian(body, r.RootOrParent);
        BinaryPrimitives.WriteUInt64LittleEndian(body.AsSpan(8), r.Owner);
        BinaryPrimitives.WriteUInt64LittleEndian(body.AsSpan(16), r.Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(24), count);
        return body;
    }

    /// <summary>
    /// update_ref_for_cow: before <paramref name="node"/> (of tree <paramref name="treeId"/>) is
    /// copied. Shared (more than one reference): if this tree owns it, its children gain references
    /// by its address (for the snapshot that keeps it) and it becomes FULL_BACKREF; otherwise the
    /// children gain references from this tree (for the copy). This tree's reference to it then
    /// goes. Not shared but FULL_BACKREF: the children's address references move to this tree, and
    /// the block is freed. Returns true when the old block is freed.
    /// </summary>
    private bool UpdateReferencesForCow(ulong treeId, BtrfsMutableNode node)
    {
        var key = ExtentKeyOfBlock(node.Bytenr, node.Level);
        var item = Find(BtrfsItem.ExtentTreeObjectId, key);
        if (item is null || item.Length < BtrfsExtentItem.HeaderSize)
        {
            throw reader.Damaged($"the tree block at {node.Bytenr} of tree {treeId} has no extent item");
        }
        blockKeys[node.Bytenr] = key;
        var extent = BtrfsExtentItem.Parse(item, key.Type == BtrfsItem.ExtentItem);
        bool fullBackref = (extent.Flags & ExtentFlagFullBackref) != 0;
        bool ownRef = extent.Refs.Any(r => r.Type == BtrfsItem.TreeBlockRef && r.Root == treeId)
            || Find(BtrfsItem.ExtentTreeObjectId, new BtrfsKey(node.Bytenr, BtrfsItem.TreeBlockRef, treeId)) is not null;
        if (!ownRef || (!IsSubvolume(treeId) && extent.RefCount != 1))
        {
            // Reached through another block's address, or a shared block of a tree that is no subvolume: never guessed.
            throw new LinuxImageException(DiagnosticCatalog.BtrfsBlockReferenceUnknown, source, source, node.Bytenr, treeId,
                $"{extent.RefCount} reference(s){(fullBackref ? ", FULL_BACKREF" : string.Empty)}, none from tree {treeId} by its id");
        }
        if (extent.RefCount > 1)
        {
            if (node.Owner == treeId && !fullBackref)
            {
                ChangeChildReferences(treeId, node, byAddress: true, delta: 1);
                var flagged = (byte[])Find(BtrfsItem.ExtentTreeObjectId, key)!.Clone();
                BinaryPrimitives.WriteUInt64LittleEndian(flagged.AsSpan(16), extent.Flags | ExtentFlagFullBackref);
                Update(BtrfsItem.ExtentTreeObjectId, key, flagged);
            }
            else
            {
                ChangeChildReferences(treeId, node, byAddress: false, delta: 1);
            }
            ChangeTreeBlockReference(node.Bytenr, node.Level, BtrfsItem.TreeBlockRef, treeId, -1);
            return false;
        }
        if (fullBackref)
        {
            ChangeChildReferences(treeId, node, byAddress: false, delta: 1);
            ChangeChildReferences(treeId, node, byAddress: true, delta: -1);
        }
        return true;
    }

    private static bool IsSubvolume(ulong treeId) => treeId == BtrfsItem.FsTreeObjectId || (treeId >= BtrfsItem.FirstFreeObjectId && treeId <= BtrfsItem.LastFreeObjectId);

    /// <summary>btrfs_inc_ref / btrfs_dec_ref: one reference more or fewer for every child block, or every data extent a leaf's file extents use.</summary>
    private void ChangeChildReferences(ulong treeId, BtrfsMutableNode node, bool byAddress, int delta)
    {
        if (!node.IsLeaf)
        {
            foreach (var (child, _) in node.Pointers)
            {
                ChangeTreeBlockReference(child, (byte)(node.Level - 1), byAddress ? BtrfsItem.SharedBlockRef : BtrfsItem.TreeBlockRef, byAddress ? node.Bytenr : treeId, delta);
            }
            return;
        }
        for (int i = 0; i < node.Count; i++)
        {
            var k = node.Keys[i];
            if (k.Type != BtrfsItem.ExtentData)
            {
                continue;
            }
            var extent = BtrfsFileExtent.Parse(node.Items[i]) ?? throw reader.Damaged($"the file extent item {k} is {node.Items[i].Length} bytes");
            if (extent.Type == BtrfsFileExtent.TypeInline || extent.DiskBytenr == 0)
            {
                continue;
            }
            if (byAddress)
            {
                ChangeDataReference(extent.DiskBytenr, extent.DiskNumBytes, BtrfsItem.SharedDataRef, node.Bytenr, 0, 0, delta);
            }
            else
            {
                ChangeDataReference(extent.DiskBytenr, extent.DiskNumBytes, BtrfsItem.ExtentDataRef, treeId, k.ObjectId, k.Offset - extent.Offset, delta);
            }
        }
    }

    /// <summary>Removes the checksums of [start, start+length), cutting items that reach past either end.</summary>
    private void DeleteChecksums(ulong start, ulong length)
    {
        int size = Checksum.Size;
        ulong reach = (ulong)(MaxItemSize / size) * SectorSize;
        ulong end = start + length;
        var items = Range(BtrfsItem.CsumTreeObjectId,
            new BtrfsKey(BtrfsItem.ExtentCsumObjectId, BtrfsItem.ExtentCsum, start > reach ? start - reach : 0),
            new BtrfsKey(BtrfsItem.ExtentCsumObjectId, BtrfsItem.ExtentCsum, end - 1));
        foreach (var (key, sums) in items)
        {
            if (sums.Length % size != 0 || key.Offset % SectorSize != 0)
            {
                throw reader.Damaged($"the checksum item at {key.Offset} is misaligned");
            }
            ulong itemEnd = key.Offset + ((ulong)(sums.Length / size) * SectorSize);
            if (itemEnd <= start)
            {
                continue;
            }
            Delete(BtrfsItem.CsumTreeObjectId, key);
            if (key.Offset < start)
            {
                Insert(BtrfsItem.CsumTreeObjectId, key, sums[..(int)((start - key.Offset) / SectorSize * (ulong)size)]);
            }
            if (itemEnd > end)
            {
                Insert(BtrfsItem.CsumTreeObjectId, new BtrfsKey(key.ObjectId, key.Type, end), sums[(int)((end - key.Offset) / SectorSize * (ulong)size)..]);
            }
        }
    }
}
