using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>
/// The commit: the items of the chunks the transaction allocated, the extent tree's items for the
/// tree blocks it created and freed, the block groups' used bytes, the free space tree (or the v1
/// space cache invalidated), the root items; each of these changes copies more blocks, so they repeat until a round changes nothing.
/// Then every new block and the new data go to the volume, and last the superblock and its mirrors.
/// </summary>
internal sealed partial class BtrfsTransaction
{
    private const int MaxCommitRounds = 64;
    private const int BackupRootsOffset = 0xb2b;
    private const int BackupRootSize = 168;

    /// <summary>When the mounted subvolume changed (its root item's ctime).</summary>
    public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;

    public void Commit()
    {
        for (int round = 0; ; round++)
        {
            if (round >= MaxCommitRounds)
            {
                throw reader.Damaged("the transaction's extent, block group and free space updates did not settle");
            }
            int before = events;
            InsertPendingChunks();
            FlushTreeBlockReferences();
            UpdateBlockGroupItems();
            if (HasFreeSpaceTree)
            {
                UpdateFreeSpaceTree();
            }
            else
            {
                EmptySpaceCaches();
            }
            UpdateRootItems();
            if (events == before && freedPending.Count == 0 && created.Values.All(c => c.Inserted) && newChunks.All(c => c.Inserted))
            {
                break;
            }
        }
        var superblockBytes = NewSuperblock();
        foreach (var node in nodes.Values)
        {
            if (node.Generation == Transid)
            {
                WriteLogicalNow(node.Bytenr, node.Serialize(NodeSize, superblock.MetadataFsIdBytes, Checksum));
                reader.Forget(node.Bytenr);
            }
        }
        foreach (var (logical, data) in pendingData)
        {
            WriteLogicalNow(logical, data);
        }
        long deviceEnd = Math.Min(volume.Length, (long)Math.Min(superblock.DeviceTotalBytes, long.MaxValue));
        foreach (long offset in SuperblockOffsets())
        {
            if (offset + BtrfsSuperblock.Size > deviceEnd)
            {
                continue;
            }
            var copy = (byte[])superblockBytes.Clone();
            BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan(0x30), (ulong)offset);
            Checksum.Compute(copy.AsSpan(BtrfsChecksum.FieldSize), copy);
            volume.WriteAt(offset, copy);
            if (offset == BtrfsSuperblock.PrimaryOffset)
            {
                superblock.Replace(copy);
            }
        }
        // Committed: the reader now maps the new chunks too.
        foreach (var pending in newChunks)
        {
            reader.Chunks.Add(pending.Chunk.Logical, pending.Item);
        }
    }

    private void WriteLogicalNow(ulong logical, ReadOnlySpan<byte> data)
    {
        var chunk = FindChunk(logical, (ulong)data.Length, out ulong offset);
        foreach (long physical in chunk.Physical)
        {
            volume.WriteAt(physical + (long)offset, data);
        }
    }

    private void FlushTreeBlockReferences()
    {
        while (freedPending.Count > 0)
        {
            var (_, key) = freedPending[^1];
            freedPending.RemoveAt(freedPending.Count - 1);
            Delete(BtrfsItem.ExtentTreeObjectId, key);
        }
        foreach (var bytenr in created.Where(c => !c.Value.Inserted).Select(c => c.Key).ToList())
        {
            if (!created.TryGetValue(bytenr, out var entry) || entry.Inserted)
            {
                continue;
            }
            created[bytenr] = (entry.Owner, entry.Level, true);
            var key = TreeBlockKey(bytenr, entry.Level);
            bool full = key.Type == BtrfsItem.ExtentItem;
            var data = new byte[BtrfsExtentItem.HeaderSize + (full ? 18 : 0) + 9];
            BinaryPrimitives.WriteUInt64LittleEndian(data, 1);
            BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(8), Transid);
            BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(16), BtrfsExtentItem.FlagTreeBlock);
            int pos = BtrfsExtentItem.HeaderSize;
            if (full)
            {
                if (nodes.TryGetValue(bytenr, out var node) && node.Count > 0)
                {
                    BtrfsMutableNode.WriteKey(data.AsSpan(pos), node.Keys[0]);
                }
                data[pos + 17] = entry.Level;
                pos += 18;
            }
            data[pos] = BtrfsItem.TreeBlockRef;
            BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(pos + 1), entry.Owner);
            Insert(BtrfsItem.ExtentTreeObjectId, key, data);
        }
    }

    private void UpdateBlockGroupItems()
    {
        // A group allocated this round gets its items in the next (InsertPendingChunks).
        foreach (var g in Groups.Where(g => g.Dirty && !g.Pending).ToList())
        {
            var key = new BtrfsKey(g.Start, BtrfsItem.BlockGroupItem, g.Length);
            var item = Find(BlockGroupTreeId, key) ?? throw reader.Damaged($"the block group item at {g.Start} is missing");
            if (BinaryPrimitives.ReadUInt64LittleEndian(item) == g.Used)
            {
                continue;
            }
            var data = (byte[])item.Clone();
            BinaryPrimitives.WriteUInt64LittleEndian(data, g.Used);
            Update(BlockGroupTreeId, key, data);
        }
    }

    /// <summary>
    /// The v1 space cache of a changed block group no longer says what is free. The superblock's
    /// cache generation (see NewSuperblock) makes the next read-write mount clear the caches, but
    /// the kernel rewrites only the block groups that mount changes, and then records its generation:
    /// an untouched stale cache would count as valid again (the kernel discards it with a warning
    /// when the free space disagrees; btrfs check reports an error). The header's entry and bitmap
    /// counts set to 0 make both skip the cache and compute the free space from the extent tree
    /// (`if (!num_entries) return 0` in __load_free_space_cache), until a mount writes a new one.
    /// </summary>
    private void EmptySpaceCaches()
    {
        foreach (var g in Groups.Where(g => g.Dirty).ToList())
        {
            var key = new BtrfsKey(BtrfsItem.FreeSpaceObjectId, BtrfsItem.Untyped, g.Start);
            // btrfs_free_space_header: location key (17 bytes), generation, num_entries, num_bitmaps.
            if (Find(BtrfsItem.RootTreeObjectId, key) is { Length: >= 41 } header
                && (BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(25)) != 0 || BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(33)) != 0))
            {
                var emptied = header.ToArray();
                emptied.AsSpan(25, 16).Clear();
                Update(BtrfsItem.RootTreeObjectId, key, emptied);
            }
        }
    }

    /// <summary>
    /// Rewrites a changed block group's free space as extents (its info item says so, with their
    /// count): the allocatable space and what this transaction freed, which is free once it commits.
    /// </summary>
    private void UpdateFreeSpaceTree()
    {
        const ulong fst = BtrfsItem.FreeSpaceTreeObjectId;
        foreach (var g in Groups.Where(g => g.Dirty && !g.Pending).ToList())
        {
            var desired = FreeSpace(g).Clone();
            foreach (var (start, length) in g.Pinned.Ranges.Concat(g.ListedFreeUnderSuperblocks.Ranges))
            {
                if (!desired.Add(start, length))
                {
                    throw reader.Damaged($"space freed at {start} is already free in the block group at {g.Start}");
                }
            }
            var infoKey = new BtrfsKey(g.Start, BtrfsItem.FreeSpaceInfo, g.Length);
            var info = Find(fst, infoKey) ?? throw reader.Damaged($"the free space tree has no info item for the block group at {g.Start}");
            var current = Range(fst, new BtrfsKey(g.Start, BtrfsItem.FreeSpaceExtent, 0), new BtrfsKey(g.End - 1, BtrfsItem.FreeSpaceBitmap, ulong.MaxValue))
                .Where(i => i.Key.Type is BtrfsItem.FreeSpaceExtent or BtrfsItem.FreeSpaceBitmap)
                .Select(i => i.Key).ToList();
            bool same = info.Length >= 8 && BinaryPrimitives.ReadUInt32LittleEndian(info.AsSpan(4)) == 0
                && BinaryPrimitives.ReadUInt32LittleEndian(info) == (uint)desired.Ranges.Count
                && current.Count == desired.Ranges.Count
                && current.Zip(desired.Ranges).All(p => p.First.Type == BtrfsItem.FreeSpaceExtent && p.First.ObjectId == p.Second.Start && p.First.Offset == p.Second.Length);
            if (same)
            {
                continue;
            }
            foreach (var key in current)
            {
                Delete(fst, key);
            }
            foreach (var (start, length) in desired.Ranges)
            {
                Insert(fst, new BtrfsKey(start, BtrfsItem.FreeSpaceExtent, length), []);
            }
            var newInfo = new byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(newInfo, (uint)desired.Ranges.Count);
            Update(fst, infoKey, newInfo);
        }
    }

    private void UpdateRootItems()
    {
        foreach (var (treeId, root) in roots.ToList())
        {
            if (treeId == BtrfsItem.RootTreeObjectId || !rootItemKeys.TryGetValue(treeId, out var key))
            {
                continue;
            }
            var item = Find(BtrfsItem.RootTreeObjectId, key) ?? throw reader.Damaged($"the root item of tree {treeId} is missing");
            var data = (byte[])item.Clone();
            var span = data.AsSpan();
            BinaryPrimitives.WriteUInt64LittleEndian(span[176..], root.Bytenr);
            span[238] = root.Level;
            if (root != committedRoots[treeId])
            {
                BinaryPrimitives.WriteUInt64LittleEndian(span[160..], Transid);
                if (data.Length >= 247)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(span[239..], Transid);
                }
                bool subvolume = treeId == BtrfsItem.FsTreeObjectId || treeId >= BtrfsItem.FirstFreeObjectId;
                if (subvolume && data.Length >= 339)
                {
                    // ctransid and ctime: when the subvolume last changed (btrfs_update_root_times).
                    BinaryPrimitives.WriteUInt64LittleEndian(span[295..], Transid);
                    BinaryPrimitives.WriteInt64LittleEndian(span[327..], Now.ToUnixTimeSeconds());
                    BinaryPrimitives.WriteUInt32LittleEndian(span[335..], (uint)(Now.ToUnixTimeMilliseconds() % 1000 * 1_000_000));
                }
            }
            if (!span.SequenceEqual(item))
            {
                Update(BtrfsItem.RootTreeObjectId, key, data);
            }
        }
    }

    private byte[] NewSuperblock()
    {
        var raw = superblock.Raw.ToArray();
        var span = raw.AsSpan();
        var rootTree = roots[BtrfsItem.RootTreeObjectId];
        BinaryPrimitives.WriteUInt64LittleEndian(span[0x48..], Transid);
        BinaryPrimitives.WriteUInt64LittleEndian(span[0x50..], rootTree.Bytenr);
        BinaryPrimitives.WriteUInt64LittleEndian(span[0x78..], BytesUsed);
        span[0xc6] = rootTree.Level;
        UpdateSuperblockChunkFields(span);
        if (!HasFreeSpaceTree && superblock.CacheGeneration != 0)
        {
            // The v1 space cache no longer matches: a cache generation other than the superblock's
            // makes the kernel drop every block group's cache and rebuild it (need_clear). It is
            // the generation being replaced, as a kernel mounted without the cache leaves it; not
            // (u64)-1, which btrfs check reads as "caches valid" and then finds them wrong.
            BinaryPrimitives.WriteUInt64LittleEndian(span[0x22b..], superblock.Generation);
        }
        // The next backup root slot after the one of the generation being replaced, as the kernel fills them.
        int slot = 0;
        for (int i = 0; i < 4; i++)
        {
            if (BinaryPrimitives.ReadUInt64LittleEndian(span[(BackupRootsOffset + (i * BackupRootSize) + 8)..]) == superblock.Generation)
            {
                slot = (i + 1) % 4;
            }
        }
        int backupAt = BackupRootsOffset + (slot * BackupRootSize);
        raw.AsSpan(backupAt, BackupRootSize).Clear();
        void Set(int pointer, int levelOffset, (ulong Bytenr, byte Level, ulong Generation) root)
        {
            var backup = raw.AsSpan(backupAt, BackupRootSize);
            BinaryPrimitives.WriteUInt64LittleEndian(backup[pointer..], root.Bytenr);
            BinaryPrimitives.WriteUInt64LittleEndian(backup[(pointer + 8)..], root.Generation);
            backup[levelOffset] = root.Level;
        }
        Set(0, 152, rootTree);
        Set(16, 153, roots[BtrfsItem.ChunkTreeObjectId]);
        Set(32, 154, Root(BtrfsItem.ExtentTreeObjectId));
        Set(48, 155, Root(BtrfsItem.FsTreeObjectId));
        Set(64, 156, Root(BtrfsItem.DevTreeObjectId));
        Set(80, 157, Root(BtrfsItem.CsumTreeObjectId));
        var sizes = raw.AsSpan(backupAt, BackupRootSize);
        BinaryPrimitives.WriteUInt64LittleEndian(sizes[96..], superblock.TotalBytes);
        BinaryPrimitives.WriteUInt64LittleEndian(sizes[104..], BytesUsed);
        BinaryPrimitives.WriteUInt64LittleEndian(sizes[112..], superblock.NumDevices);
        return raw;
    }
}
