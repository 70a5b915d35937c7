using System.Buffers.Binary;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>
/// Names (after btrfs-progs kernel-shared/inode.c): a name is a DIR_ITEM (keyed by the name's
/// crc32c hash, colliding names sharing the item), a DIR_INDEX (readdir order), an INODE_REF back
/// from the inode, and 2 × its length in the directory's size. New inodes take the number after the
/// highest in the subvolume. Directories have one link, as on btrfs.
/// </summary>
public sealed partial class BtrfsFileSystem
{
    private const int InodeRefHeader = 10;

    public ulong CreateFile(ulong directory, string name, ReadOnlySpan<byte> content, int mode, int uid, int gid)
    {
        var data = content.ToArray();
        return Create(directory, name, 0x8000 | ((uint)mode & 0xFFF), uid, gid, DirectoryEntryType.File,
            (t, treeId, inode, raw) => WriteData(t, treeId, inode, raw, data));
    }

    public ulong CreateDirectory(ulong directory, string name, int mode, int uid, int gid) =>
        Create(directory, name, 0x4000 | ((uint)mode & 0xFFF), uid, gid, DirectoryEntryType.Directory, (_, _, _, _) => { });

    public ulong CreateSymlink(ulong directory, string name, string target, int uid, int gid)
    {
        var bytes = Encoding.UTF8.GetBytes(target);
        if (bytes.Length == 0 || bytes.Length > 4095 || target.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{target}' is not a valid symbolic link target.", nameof(target));
        }
        return Create(directory, name, 0xA1FF, uid, gid, DirectoryEntryType.Symlink, (t, treeId, inode, raw) =>
        {
            // A link's target is always inline, whatever its length (as the kernel's btrfs_symlink).
            if (BtrfsFileExtent.InlineHeaderSize + bytes.Length > t.MaxItemSize)
            {
                throw new LinuxImageException(DiagnosticCatalog.BtrfsWriteUnsupported, Source, Source,
                    $"a {bytes.Length}-byte link target does not fit a {superblock.NodeSize}-byte leaf");
            }
            InsertInline(t, treeId, inode, bytes);
            BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(InodeSize), (ulong)bytes.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(InodeNbytes), (ulong)bytes.Length);
        });
    }

    private ulong Create(ulong directory, string name, uint mode, int uid, int gid, byte type, Action<BtrfsTransaction, ulong, ulong, byte[]> fill)
    {
        var (treeId, dirInode, _) = ForChange(directory);
        var (index, _) = SplitDirectory(directory);
        var nameBytes = NameBytes(name);
        if (Lookup(directory, name) is not null)
        {
            throw new IOException($"'{name}' already exists in directory {directory}.");
        }
        ulong inode = Change(t =>
        {
            ulong ino = NextObjectId(t, treeId);
            var raw = new byte[BtrfsInodeItem.Length];
            var span = raw.AsSpan();
            BinaryPrimitives.WriteUInt64LittleEndian(span, t.Transid);
            BinaryPrimitives.WriteUInt32LittleEndian(span[InodeNlink..], 1);
            BinaryPrimitives.WriteUInt32LittleEndian(span[44..], (uint)uid);
            BinaryPrimitives.WriteUInt32LittleEndian(span[48..], (uint)gid);
            BinaryPrimitives.WriteUInt32LittleEndian(span[InodeMode..], mode);
            foreach (int field in (int[])[InodeAtime, InodeCtime, InodeMtime, InodeOtime])
            {
                WriteTime(span[field..], t.Now);
            }
            fill(t, treeId, ino, raw);
            Touch(t, raw, modify: true);
            t.Insert(treeId, InodeKey(ino), raw);
            AddEntry(t, treeId, dirInode, new BtrfsKey(ino, BtrfsItem.InodeItem, 0), nameBytes, type);
            return ino;
        });
        return Node(index, inode);
    }

    public void Delete(ulong directory, string name)
    {
        var (treeId, dirInode, _) = ForChange(directory);
        var nameBytes = NameBytes(name);
        var target = Lookup(directory, name) ?? throw new FileNotFoundException($"'{name}' does not exist in directory {directory}.");
        var (ino, kind) = SameSubvolumeEntry(directory, target, name);
        if (kind == FileSystemNodeKind.Directory && ListDirectory(target).Count > 0)
        {
            throw new IOException($"The directory '{name}' is not empty.");
        }
        Change(t =>
        {
            RemoveEntry(t, treeId, dirInode, ino, nameBytes);
            Unlink(t, treeId, ino);
            return 0;
        });
    }

    public void Rename(ulong fromDirectory, string fromName, ulong toDirectory, string toName)
    {
        var (treeId, fromInode, _) = ForChange(fromDirectory);
        var (toTreeId, toInode, toItem) = ForChange(toDirectory);
        if (toItem.Kind != FileSystemNodeKind.Directory)
        {
            throw new IOException($"Node {toDirectory} is not a directory.");
        }
        if (toTreeId != treeId)
        {
            throw new IOException("A rename cannot cross subvolumes (the kernel answers EXDEV).");
        }
        var fromBytes = NameBytes(fromName);
        var toBytes = NameBytes(toName);
        var source = Lookup(fromDirectory, fromName) ?? throw new FileNotFoundException($"'{fromName}' does not exist in directory {fromDirectory}.");
        var (ino, kind) = SameSubvolumeEntry(fromDirectory, source, fromName);
        if (fromDirectory == toDirectory && fromName == toName)
        {
            return;
        }
        var existing = Lookup(toDirectory, toName);
        ulong? replaced = null;
        if (existing is not null)
        {
            var (existingIno, existingKind) = SameSubvolumeEntry(toDirectory, existing.Value, toName);
            if (existingKind == FileSystemNodeKind.Directory || kind == FileSystemNodeKind.Directory)
            {
                throw new IOException($"'{toName}' exists and is a directory, or a directory would replace a file.");
            }
            replaced = existingIno;
        }
        if (kind == FileSystemNodeKind.Directory)
        {
            // Never into its own subtree: walk up from the target directory (bounded by the tree's depth).
            ulong at = toDirectory;
            for (int depth = 0; depth < 4096; depth++)
            {
                if (at == source)
                {
                    throw new IOException($"'{fromName}' cannot move into itself.");
                }
                ulong up = Lookup(at, "..")!.Value;
                if (up == at)
                {
                    break;
                }
                at = up;
            }
        }
        byte type = kind switch
        {
            FileSystemNodeKind.Directory => DirectoryEntryType.Directory,
            FileSystemNodeKind.Symlink => DirectoryEntryType.Symlink,
            FileSystemNodeKind.File => DirectoryEntryType.File,
            _ => EntryType(fromDirectory, fromName),
        };
        Change(t =>
        {
            if (replaced is not null)
            {
                RemoveEntry(t, treeId, toInode, replaced.Value, toBytes);
                Unlink(t, treeId, replaced.Value);
            }
            RemoveEntry(t, treeId, fromInode, ino, fromBytes);
            AddEntry(t, treeId, toInode, new BtrfsKey(ino, BtrfsItem.InodeItem, 0), toBytes, type);
            var raw = InodeRaw(t, treeId, ino);
            Touch(t, raw, modify: false);
            t.Update(treeId, InodeKey(ino), raw);
            return 0;
        });
    }

    /// <summary>The inode a name in a directory names, when it is an inode of the same subvolume (not a nested subvolume, which the SDK never removes or moves).</summary>
    private (ulong Inode, FileSystemNodeKind Kind) SameSubvolumeEntry(ulong directory, ulong target, string name)
    {
        var (dirIndex, _) = Split(directory);
        var (index, inode) = Split(target);
        if (index != dirIndex || inode == BtrfsItem.FirstFreeObjectId)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsWriteUnsupported, Source, Source,
                $"'{name}' is a subvolume, and the SDK does not delete, replace or move subvolumes");
        }
        return (inode, Inode(index, inode).Kind);
    }

    private byte EntryType(ulong directory, string name)
    {
        var (index, inode) = Split(directory);
        var bytes = NameBytes(name);
        var item = tree.Find(subvolumes[index].Root, new BtrfsKey(inode, BtrfsItem.DirItem, NameHash(bytes)));
        foreach (var e in item is null ? [] : ParseEntries(item.Value, $"the directory {inode}"))
        {
            if (e.Name.Span.SequenceEqual(bytes))
            {
                return e.Type;
            }
        }
        throw tree.Damaged($"the entry '{name}' of directory {inode} vanished");
    }

    private static byte[] NameBytes(string name)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(name);
        if (bytes.Length == 0 || bytes.Length > BtrfsDirEntry.MaxNameLength || name == "." || name == ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' is not a valid file name.", nameof(name));
        }
        return bytes;
    }

    /// <summary>btrfs_find_highest_objectid: one past the largest object id in the subvolume.</summary>
    private ulong NextObjectId(BtrfsTransaction t, ulong treeId)
    {
        var last = t.LastAtOrBelow(treeId, new BtrfsKey(BtrfsItem.LastFreeObjectId, byte.MaxValue, ulong.MaxValue));
        ulong highest = last is null ? BtrfsItem.FirstFreeObjectId - 1 : Math.Max(last.Value.ObjectId, BtrfsItem.FirstFreeObjectId - 1);
        if (highest >= Math.Min(BtrfsItem.LastFreeObjectId, InodeMask))
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsWriteUnsupported, Source, Source, $"subvolume {treeId} has no inode numbers left");
        }
        return highest + 1;
    }

    private static byte[] DirEntry(BtrfsKey location, ulong transid, byte type, byte[] name)
    {
        var entry = new byte[BtrfsDirEntry.HeaderSize + name.Length];
        BtrfsMutableNode.WriteKey(entry, location);
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(17), transid);
        BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(27), (ushort)name.Length);
        entry[29] = type;
        name.CopyTo(entry, BtrfsDirEntry.HeaderSize);
        return entry;
    }

    private void AddEntry(BtrfsTransaction t, ulong treeId, ulong dir, BtrfsKey location, byte[] name, byte type)
    {
        var lastIndex = t.LastAtOrBelow(treeId, new BtrfsKey(dir, BtrfsItem.DirIndex, ulong.MaxValue));
        // Indexes 0 and 1 stand for "." and ".."; a directory's first entry takes 2.
        ulong index = lastIndex is { } k && k.ObjectId == dir && k.Type == BtrfsItem.DirIndex ? Math.Max(k.Offset + 1, 2) : 2;
        var entry = DirEntry(location, t.Transid, type, name);

        var itemKey = new BtrfsKey(dir, BtrfsItem.DirItem, NameHash(name));
        var existing = t.Find(treeId, itemKey);
        if (existing is null)
        {
            t.Insert(treeId, itemKey, entry);
        }
        else
        {
            t.Update(treeId, itemKey, [.. existing, .. entry]);
        }
        t.Insert(treeId, new BtrfsKey(dir, BtrfsItem.DirIndex, index), entry);

        var refKey = new BtrfsKey(location.ObjectId, BtrfsItem.InodeRef, dir);
        var inodeRef = new byte[InodeRefHeader + name.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(inodeRef, index);
        BinaryPrimitives.WriteUInt16LittleEndian(inodeRef.AsSpan(8), (ushort)name.Length);
        name.CopyTo(inodeRef, InodeRefHeader);
        var refs = t.Find(treeId, refKey);
        if (refs is null)
        {
            t.Insert(treeId, refKey, inodeRef);
        }
        else
        {
            t.Update(treeId, refKey, [.. refs, .. inodeRef]);
        }
        ResizeDirectory(t, treeId, dir, 2L * name.Length);
    }

    private void RemoveEntry(BtrfsTransaction t, ulong treeId, ulong dir, ulong inode, byte[] name)
    {
        var refKey = new BtrfsKey(inode, BtrfsItem.InodeRef, dir);
        var refs = t.Find(treeId, refKey);
        ulong? index = null;
        if (refs is not null)
        {
            int pos = 0;
            // Each reference takes at least its header, so the loop ends within the item.
            while (pos + InodeRefHeader <= refs.Length)
            {
                int length = BinaryPrimitives.ReadUInt16LittleEndian(refs.AsSpan(pos + 8));
                if (pos + InodeRefHeader + length > refs.Length)
                {
                    throw tree.Damaged($"the inode reference of {inode} in directory {dir} overruns its item");
                }
                if (refs.AsSpan(pos + InodeRefHeader, length).SequenceEqual(name))
                {
                    index = BinaryPrimitives.ReadUInt64LittleEndian(refs.AsSpan(pos));
                    byte[] rest = [.. refs.AsSpan(0, pos), .. refs.AsSpan(pos + InodeRefHeader + length)];
                    if (rest.Length == 0)
                    {
                        t.Delete(treeId, refKey);
                    }
                    else
                    {
                        t.Update(treeId, refKey, rest);
                    }
                    break;
                }
                pos += InodeRefHeader + length;
            }
        }
        if (index is null)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsWriteUnsupported, Source, Source,
                $"the name of inode {inode} in directory {dir} is kept in an extended reference (INODE_EXTREF), which the SDK does not change");
        }
        t.Delete(treeId, new BtrfsKey(dir, BtrfsItem.DirIndex, index.Value));

        var itemKey = new BtrfsKey(dir, BtrfsItem.DirItem, NameHash(name));
        var item = t.Find(treeId, itemKey) ?? throw tree.Damaged($"the directory {dir} has no item for a name its inode {inode} references");
        var kept = new List<byte>();
        bool found = false;
        foreach (var e in BtrfsDirEntry.ParseAll(item, (int)superblock.NodeSize) ?? throw tree.Damaged($"an entry of the directory {dir} overruns its item"))
        {
            if (!found && e.Name.Span.SequenceEqual(name))
            {
                found = true;
                continue;
            }
            kept.AddRange(DirEntryBytes(item, e));
        }
        if (!found)
        {
            throw tree.Damaged($"the directory {dir} has no entry for a name its inode {inode} references");
        }
        if (kept.Count == 0)
        {
            t.Delete(treeId, itemKey);
        }
        else
        {
            t.Update(treeId, itemKey, [.. kept]);
        }
        ResizeDirectory(t, treeId, dir, -2L * name.Length);
    }

    private static byte[] DirEntryBytes(byte[] item, BtrfsDirEntry e)
    {
        // The entry starts its header's size before its name; it ends after its data.
        int start = GetOffset(item, e.Name) - BtrfsDirEntry.HeaderSize;
        return item.AsSpan(start, BtrfsDirEntry.HeaderSize + e.Name.Length + e.Data.Length).ToArray();
    }

    private static int GetOffset(byte[] item, ReadOnlyMemory<byte> slice) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(slice, out var segment) && segment.Array == item
            ? segment.Offset
            : throw new InvalidOperationException("A directory entry is not a slice of its item.");

    private void ResizeDirectory(BtrfsTransaction t, ulong treeId, ulong dir, long delta)
    {
        var raw = InodeRaw(t, treeId, dir);
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(InodeSize));
        if (delta < 0 && size < (ulong)-delta)
        {
            throw tree.Damaged($"the directory {dir} records the size {size}, less than its names");
        }
        BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(InodeSize), (ulong)((long)size + delta));
        Touch(t, raw, modify: true);
        t.Update(treeId, InodeKey(dir), raw);
    }

    /// <summary>One link fewer; at none the inode, its extents (and their data references) and all its items go.</summary>
    private void Unlink(BtrfsTransaction t, ulong treeId, ulong inode)
    {
        var raw = InodeRaw(t, treeId, inode);
        uint links = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(InodeNlink));
        bool directory = (BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(InodeMode)) & 0xF000) == 0x4000;
        if (links > 1 && !directory)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(InodeNlink), links - 1);
            Touch(t, raw, modify: false);
            t.Update(treeId, InodeKey(inode), raw);
            return;
        }
        DropExtents(t, treeId, inode);
        foreach (var (key, _) in t.Range(treeId, new BtrfsKey(inode, 0, 0), new BtrfsKey(inode, byte.MaxValue, ulong.MaxValue)))
        {
            t.Delete(treeId, key);
        }
    }
}
