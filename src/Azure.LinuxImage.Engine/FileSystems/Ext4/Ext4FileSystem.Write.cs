using System.Buffers.Binary;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// The changes: every public method checks what it needs (features, space, names), works in a
/// private copy-on-write layer and ends with <see cref="Commit"/>; only then are its bytes copied to
/// the volume. A change that fails half-way (no space, damage found while working) leaves the volume
/// exactly as it was and drops the in-memory allocation state.
/// </summary>
public sealed partial class Ext4FileSystem
{
    private int SectorsPerBlock => BlockSize / 512;

    private T Change<T>(Func<T> action)
    {
        EnsureWritable();
        byte[] sbBefore = (byte[])Superblock.Raw.Clone();
        byte[][] gdBefore = [.. Enumerable.Range(0, (int)groups.Count).Select(g => groups.Raw((uint)g).ToArray())];
        var layer = new IO.DiskOverlay(volume);
        T result;
        try
        {
            io = layer;
            result = action();
            Commit();
        }
        catch
        {
            sbBefore.CopyTo(Superblock.Raw, 0);
            for (int g = 0; g < gdBefore.Length; g++)
            {
                gdBefore[g].CopyTo(groups.Raw((uint)g));
            }
            blockBitmaps.Clear();
            inodeBitmaps.Clear();
            dirtyGroups.Clear();
            throw;
        }
        finally
        {
            io = volume;
        }
        var target = (IO.IWritableVolume)volume;
        foreach (var (start, chunk) in layer.Chunks)
        {
            target.WriteAt(start, chunk.AsSpan(0, (int)Math.Min(IO.DiskOverlay.ChunkSize, volume.Length - start)));
        }
        return result;
    }

    private static byte[] NameBytes(string name)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(name);
        if (bytes.Length == 0 || bytes.Length > 255 || name == "." || name == ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' is not a valid file name.", nameof(name));
        }
        return bytes;
    }

    private void RefuseInline(Ext4Inode inode, string what)
    {
        if ((inode.Flags & (Ext4Inode.FlagEncrypt | Ext4Inode.FlagVerity | Ext4Inode.FlagCasefold)) != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4UnsupportedFeature, Source, Source, "write",
                $"{what} (inode {inode.Number}) uses encryption, verity or casefolding, which this engine only reads");
        }
    }

    private void Touch(Ext4Inode inode, bool modify)
    {
        var now = Clock();
        inode.SetTime(Ext4Inode.TimeField.Change, now);
        if (modify)
        {
            inode.SetTime(Ext4Inode.TimeField.Modify, now);
        }
    }

    /// <summary>Replaces a regular file's contents, keeping its inode (owner, mode, xattrs, creation time).</summary>
    public void ReplaceContent(uint inodeNumber, ReadOnlySpan<byte> content)
    {
        byte[] copy = content.ToArray();
        Change(() =>
        {
            var inode = ReadInode(inodeNumber);
            if (!inode.IsRegular)
            {
                throw new InvalidOperationException($"Inode {inodeNumber} is not a regular file.");
            }
            RefuseInline(inode, "the file");
            if (inode.Size == copy.Length && ReadData(inode).AsSpan().SequenceEqual(copy))
            {
                return 0;
            }
            if ((inode.Flags & Ext4Inode.FlagInlineData) != 0)
            {
                Uninline(inode, copy, $"inode {inodeNumber}");
                inode = ReadInode(inodeNumber);
                Touch(inode, modify: true);
                WriteInode(inode);
                return 0;
            }
            var (runs, mapBlocks) = MapFile(inode);
            ulong goal = runs.Count > 0 ? runs[0].Physical : GoalForInode(inodeNumber);
            ReleaseBlocks(runs, mapBlocks);
            StoreData(inode, copy, goal, $"inode {inodeNumber}");
            Touch(inode, modify: true);
            WriteInode(inode);
            return 0;
        });
    }

    private void ReleaseBlocks(List<Ext4Run> runs, List<ulong> mapBlocks)
    {
        foreach (var r in runs)
        {
            FreeBlocks(r.Physical, r.Length);
        }
        foreach (ulong b in mapBlocks)
        {
            FreeBlocks(b, 1);
        }
    }

    /// <summary>Allocates and writes a file body and its mapping into the inode (whose old blocks are already freed).</summary>
    private void StoreData(Ext4Inode inode, byte[] content, ulong goal, string forPath)
    {
        long blocks = (content.LongLength + BlockSize - 1) / BlockSize;
        bool extents = (inode.Flags & Ext4Inode.FlagExtents) != 0;
        long metaNeeded = extents ? 0 : Ext4BlockMap.MetaBlocksNeeded(blocks, BlockSize);
        if (metaNeeded < 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4NoSpace, Source, Source, "block map room", forPath);
        }
        if ((ulong)(blocks + metaNeeded + 4) > Superblock.FreeBlocksCount)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4NoSpace, Source, Source, "blocks", forPath);
        }
        var allocated = AllocateBlocks(blocks, goal, forPath);
        var runs = new List<Ext4Run>();
        uint logical = 0;
        foreach (var (start, length) in allocated)
        {
            runs.Add(new Ext4Run(logical, start, length));
            logical += length;
        }
        foreach (var run in runs)
        {
            long offset = (long)run.Logical * BlockSize;
            int n = (int)Math.Min((long)run.Length * BlockSize, content.LongLength - offset);
            var buffer = new byte[(long)run.Length * BlockSize];
            content.AsSpan((int)offset, n).CopyTo(buffer);
            ((IO.IWritableVolume)io).WriteAt((long)run.Physical * BlockSize, buffer);
        }
        SetMapping(inode, runs, goal, forPath);
        inode.Size = content.LongLength;
    }

    /// <summary>Writes the mapping of <paramref name="runs"/> (extent tree or indirect blocks) and the inode's block count.</summary>
    private void SetMapping(Ext4Inode inode, List<Ext4Run> runs, ulong goal, string forPath)
    {
        long dataBlocks = runs.Sum(r => (long)r.Length);
        long metaCount;
        if ((inode.Flags & Ext4Inode.FlagExtents) != 0)
        {
            var split = Ext4Extents.SplitLong(runs);
            int treeBlocks = Ext4Extents.TreeBlocksNeeded(split.Count, BlockSize);
            if (treeBlocks < 0)
            {
                throw new LinuxImageException(DiagnosticCatalog.Ext4NoSpace, Source, Source, "contiguous space (the file would need a deeper extent tree)", forPath);
            }
            var leaves = AllocateBlocks(treeBlocks, goal, forPath).SelectMany(r => Enumerable.Range(0, (int)r.Length).Select(i => r.Start + (ulong)i)).ToList();
            Ext4Extents.Build(this, inode, split, leaves);
            metaCount = leaves.Count;
        }
        else
        {
            var blocks = new List<ulong>();
            uint expected = 0;
            foreach (var r in runs)
            {
                if (r.Logical != expected)
                {
                    throw new LinuxImageException(DiagnosticCatalog.Ext4UnsupportedFeature, Source, Source, "write", $"a sparse block-mapped file ({forPath})");
                }
                for (uint i = 0; i < r.Length; i++)
                {
                    blocks.Add(r.Physical + i);
                }
                expected += r.Length;
            }
            metaCount = Ext4BlockMap.MetaBlocksNeeded(blocks.Count, BlockSize);
            var meta = new Queue<ulong>(AllocateBlocks(metaCount, goal, forPath).SelectMany(r => Enumerable.Range(0, (int)r.Length).Select(i => r.Start + (ulong)i)));
            Ext4BlockMap.Build(this, inode, blocks, meta);
        }
        long total = dataBlocks + metaCount + (inode.FileAcl != 0 ? 1 : 0);
        inode.BlocksRaw = (inode.Flags & Ext4Inode.FlagHugeFile) != 0 ? (ulong)total : (ulong)(total * SectorsPerBlock);
    }

    private Ext4Inode NewInode(uint number, int mode, int uid, int gid)
    {
        var inode = new Ext4Inode(number, new byte[Superblock.InodeSize]);
        inode.Mode = mode;
        inode.Uid = uid;
        inode.Gid = gid;
        inode.LinksCount = 1;
        // A generation that differs per inode without randomness keeps builds reproducible.
        inode.Generation = number * 2654435761u;
        if (Superblock.InodeSize > 128)
        {
            int extra = Math.Min(Math.Max((int)Superblock.WantExtraInodeSize, 32), Superblock.InodeSize - 128);
            BinaryPrimitives.WriteUInt16LittleEndian(inode.Raw.AsSpan(0x80), (ushort)extra);
        }
        var now = Clock();
        inode.SetTime(Ext4Inode.TimeField.Access, now);
        inode.SetTime(Ext4Inode.TimeField.Change, now);
        inode.SetTime(Ext4Inode.TimeField.Modify, now);
        inode.SetTime(Ext4Inode.TimeField.Create, now);
        if (Superblock.HasExtents && (mode & Ext4Inode.ModeTypeMask) != Ext4Inode.ModeSymlink)
        {
            inode.Flags = Ext4Inode.FlagExtents;
            Ext4Extents.Build(this, inode, [], []);
        }
        return inode;
    }

    private Ext4Inode ReadDirectoryInode(uint number)
    {
        var dir = ReadInode(number);
        if (!dir.IsDirectory)
        {
            throw new InvalidOperationException($"Inode {number} is not a directory.");
        }
        return dir;
    }

    /// <summary>Creates a regular file in a directory and returns its inode number.</summary>
    public uint CreateFile(uint parent, string name, ReadOnlySpan<byte> content, int mode, int uid = 0, int gid = 0)
    {
        byte[] nameBytes = NameBytes(name);
        byte[] copy = content.ToArray();
        return Change(() =>
        {
            var dir = ReadDirectoryInode(parent);
            RefuseInline(dir, "the parent directory");
            EnsureAbsent(dir, name);
            uint number = AllocateInode(false, parent, name);
            var inode = NewInode(number, Ext4Inode.ModeFile | (mode & 0xFFF), uid, gid);
            StoreData(inode, copy, GoalForInode(number), name);
            WriteInode(inode);
            AddEntry(dir, nameBytes, number, Ext4Directory.TypeFile);
            return number;
        });
    }

    public uint CreateDirectory(uint parent, string name, int mode, int uid = 0, int gid = 0)
    {
        byte[] nameBytes = NameBytes(name);
        return Change(() =>
        {
            var dir = ReadDirectoryInode(parent);
            RefuseInline(dir, "the parent directory");
            EnsureAbsent(dir, name);
            uint number = AllocateInode(true, parent, name);
            var inode = NewInode(number, Ext4Inode.ModeDirectory | (mode & 0xFFF), uid, gid);
            inode.LinksCount = 2;
            var block = new byte[BlockSize];
            int usable = UsableDirectoryBytes;
            Ext4Directory.WriteEntry(block, 0, 12, number, "."u8, Ext4Directory.TypeDirectory, Superblock.HasFiletype);
            Ext4Directory.WriteEntry(block, 12, usable - 12, parent, ".."u8, Ext4Directory.TypeDirectory, Superblock.HasFiletype);
            FinishDirectoryBlock(inode, block);
            var allocated = AllocateBlocks(1, GoalForInode(number), name);
            ((IO.IWritableVolume)io).WriteAt((long)allocated[0].Start * BlockSize, block);
            SetMapping(inode, [new Ext4Run(0, allocated[0].Start, 1)], allocated[0].Start, name);
            inode.Size = BlockSize;
            WriteInode(inode);
            AddEntry(dir, nameBytes, number, Ext4Directory.TypeDirectory);
            dir = ReadInode(parent);
            IncrementLinks(dir);
            WriteInode(dir);
            return number;
        });
    }

    public uint CreateSymlink(uint parent, string name, string target, int uid = 0, int gid = 0)
    {
        byte[] nameBytes = NameBytes(name);
        byte[] targetBytes = Encoding.UTF8.GetBytes(target);
        if (targetBytes.Length == 0 || targetBytes.Length >= BlockSize)
        {
            throw new ArgumentException($"The symbolic link target '{target}' is empty or longer than a block.", nameof(target));
        }
        return Change(() =>
        {
            var dir = ReadDirectoryInode(parent);
            RefuseInline(dir, "the parent directory");
            EnsureAbsent(dir, name);
            uint number = AllocateInode(false, parent, name);
            var inode = NewInode(number, Ext4Inode.ModeSymlink | 0x1FF, uid, gid);
            if (targetBytes.Length < Ext4Inode.BlockArraySize)
            {
                targetBytes.CopyTo(inode.BlockArray);
                inode.Size = targetBytes.Length;
            }
            else
            {
                if (Superblock.HasExtents)
                {
                    inode.Flags = Ext4Inode.FlagExtents;
                }
                StoreData(inode, targetBytes, GoalForInode(number), name);
            }
            WriteInode(inode);
            AddEntry(dir, nameBytes, number, Ext4Directory.TypeSymlink);
            return number;
        });
    }

    /// <summary>Removes a name: a file or symlink (freeing it at its last link) or an empty directory.</summary>
    public void Delete(uint parent, string name)
    {
        byte[] nameBytes = NameBytes(name);
        Change(() =>
        {
            var dir = ReadDirectoryInode(parent);
            RefuseInline(dir, "the parent directory");
            uint number = Lookup(dir, name);
            if (number == 0)
            {
                throw new LinuxImageException(DiagnosticCatalog.GuestPathNotFound, Source, Source, name);
            }
            var inode = ReadInode(number);
            if (inode.IsDirectory)
            {
                EnsureEmptyDirectory(inode, name);
            }
            RemoveEntry(dir, nameBytes);
            Unlink(inode, parent);
            return 0;
        });
    }

    private void Unlink(Ext4Inode inode, uint parent)
    {
        if (inode.IsDirectory)
        {
            var dir = ReadInode(parent);
            if (dir.LinksCount > 2)
            {
                dir.LinksCount--;
            }
            Touch(dir, modify: true);
            WriteInode(dir);
            inode.LinksCount = 0;
        }
        else
        {
            inode.LinksCount = (ushort)Math.Max(0, inode.LinksCount - 1);
        }
        Touch(inode, modify: false);
        if (inode.LinksCount > 0)
        {
            WriteInode(inode);
            return;
        }
        if ((inode.Flags & Ext4Inode.FlagEaInode) != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4UnsupportedFeature, Source, Source, "write", "deleting an inode that holds an extended attribute value");
        }
        var (runs, mapBlocks) = MapFile(inode);
        ReleaseBlocks(runs, mapBlocks);
        ReleaseXattrBlock(inode);
        inode.Size = 0;
        inode.BlocksRaw = 0;
        if ((inode.Flags & Ext4Inode.FlagExtents) != 0)
        {
            Ext4Extents.Build(this, inode, [], []);
        }
        else
        {
            inode.BlockArray.Clear();
        }
        inode.DeletionTime = (uint)Clock().ToUnixTimeSeconds();
        WriteInode(inode);
        FreeInode(inode.Number, inode.IsDirectory);
    }

    private void ReleaseXattrBlock(Ext4Inode inode)
    {
        ulong block = inode.FileAcl;
        if (block == 0)
        {
            return;
        }
        CheckBlockRange(block, 1, inode.Number);
        byte[] data = ReadBlock(block);
        if (BinaryPrimitives.ReadUInt32LittleEndian(data) != Ext4Xattr.Magic)
        {
            throw Damaged($"inode {inode.Number} has an extended attribute block {block} without the attribute magic");
        }
        uint refs = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(4));
        if (refs > 1)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(4), refs - 1);
            if (Superblock.HasMetadataCsum)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(0x10), XattrBlockChecksum(block, data));
            }
            WriteBlock(block, data);
        }
        else
        {
            FreeBlocks(block, 1);
        }
        inode.FileAcl = 0;
    }

    /// <summary>Renames (or moves) an entry, replacing a file or empty directory already at the target like rename(2).</summary>
    public void Rename(uint fromParent, string fromName, uint toParent, string toName)
    {
        byte[] fromBytes = NameBytes(fromName);
        byte[] toBytes = NameBytes(toName);
        Change(() =>
        {
            var from = ReadDirectoryInode(fromParent);
            RefuseInline(from, "the source directory");
            uint number = Lookup(from, fromName);
            if (number == 0)
            {
                throw new LinuxImageException(DiagnosticCatalog.GuestPathNotFound, Source, Source, fromName);
            }
            if (fromParent == toParent && fromName == toName)
            {
                return 0;
            }
            var moving = ReadInode(number);
            var to = ReadDirectoryInode(toParent);
            RefuseInline(to, "the target directory");
            if (moving.IsDirectory && IsAncestorOrSelf(number, toParent))
            {
                throw new InvalidOperationException($"Cannot move directory '{fromName}' into itself.");
            }
            uint existing = Lookup(to, toName);
            if (existing == number)
            {
                return 0;
            }
            if (existing != 0)
            {
                var victim = ReadInode(existing);
                if (victim.IsDirectory != moving.IsDirectory)
                {
                    throw new InvalidOperationException($"Cannot replace '{toName}' by an entry of another kind.");
                }
                if (victim.IsDirectory)
                {
                    EnsureEmptyDirectory(victim, toName);
                }
                RemoveEntry(to, toBytes);
                Unlink(victim, toParent);
                to = ReadInode(toParent);
            }
            AddEntry(to, toBytes, number, Ext4Directory.TypeFromMode(moving.Mode));
            from = ReadInode(fromParent);
            RemoveEntry(from, fromBytes);
            moving = ReadInode(number);
            if (moving.IsDirectory && fromParent != toParent)
            {
                SetDotDot(moving, toParent);
                from = ReadInode(fromParent);
                if (from.LinksCount > 2)
                {
                    from.LinksCount--;
                }
                WriteInode(from);
                to = ReadInode(toParent);
                IncrementLinks(to);
                WriteInode(to);
            }
            Touch(moving, modify: false);
            WriteInode(moving);
            return 0;
        });
    }

    private bool IsAncestorOrSelf(uint ancestor, uint dirNumber)
    {
        uint current = dirNumber;
        for (int depth = 0; depth < 4096; depth++)
        {
            if (current == ancestor)
            {
                return true;
            }
            if (current == RootInode)
            {
                return false;
            }
            uint parent = Lookup(ReadInode(current), "..");
            if (parent == 0 || parent == current)
            {
                return false;
            }
            current = parent;
        }
        throw Damaged("the directory tree's '..' entries form a loop");
    }

    private void IncrementLinks(Ext4Inode dir)
    {
        // dir_nlink: past 65000 links a directory's count is pinned at 1 ("many").
        if (dir.LinksCount == 1 || dir.LinksCount >= 64999)
        {
            if ((Superblock.FeatureRoCompat & Ext4Superblock.RoCompatDirNlink) == 0 && dir.LinksCount >= 64999)
            {
                throw new LinuxImageException(DiagnosticCatalog.Ext4NoSpace, Source, Source, "directory links", $"inode {dir.Number}");
            }
            dir.LinksCount = 1;
        }
        else
        {
            dir.LinksCount++;
        }
        Touch(dir, modify: true);
    }

    private void EnsureAbsent(Ext4Inode dir, string name)
    {
        if (Lookup(dir, name) != 0)
        {
            throw new InvalidOperationException($"'{name}' already exists in directory inode {dir.Number}.");
        }
    }

    private void EnsureEmptyDirectory(Ext4Inode dir, string name)
    {
        if (ReadDirectory(dir).Any(e => e.Name is not "." and not ".."))
        {
            throw new InvalidOperationException($"The directory '{name}' is not empty.");
        }
    }

    internal int UsableDirectoryBytes => Superblock.HasMetadataCsum ? BlockSize - Ext4Directory.TailSize : BlockSize;

    internal void FinishDirectoryBlock(Ext4Inode dir, byte[] block)
    {
        if (Superblock.HasMetadataCsum)
        {
            Ext4Directory.WriteTail(block);
            SetDirectoryBlockChecksum(dir, block);
        }
    }

    private IEnumerable<ulong> DirectoryBlocks(Ext4Inode dir)
    {
        var (runs, _) = MapFile(dir);
        long blocks = (dir.Size + BlockSize - 1) / BlockSize;
        foreach (var run in runs)
        {
            for (uint i = 0; i < run.Length && run.Logical + i < blocks; i++)
            {
                yield return run.Physical + i;
            }
        }
    }

    private byte[] ReadDirectoryBlockForWrite(Ext4Inode dir, ulong physical)
    {
        byte[] block = ReadBlock(physical);
        if (Superblock.HasMetadataCsum && !Ext4Directory.HasTail(block))
        {
            throw Damaged($"directory inode {dir.Number} has a block {physical} without its checksum tail");
        }
        return block;
    }

    private void AddEntry(Ext4Inode dir, byte[] name, uint number, byte type)
    {
        if ((dir.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            Uninline(dir, null, $"directory inode {dir.Number}");
            dir = ReadInode(dir.Number);
        }
        byte ft = Superblock.HasFiletype ? type : (byte)0;
        if ((dir.Flags & Ext4Inode.FlagIndex) != 0)
        {
            if (Ext4HashTree.TryInsert(this, dir, name, number, ft))
            {
                Touch(dir, modify: true);
                WriteInode(dir);
                return;
            }
            Ext4HashTree.RemoveIndex(this, dir);
        }
        foreach (ulong physical in DirectoryBlocks(dir).ToList())
        {
            byte[] block = ReadDirectoryBlockForWrite(dir, physical);
            if (Ext4Directory.TryInsert(this, block, UsableDirectoryBytes, dir.Number, number, name, ft, Superblock.HasFiletype))
            {
                FinishDirectoryBlock(dir, block);
                WriteBlock(physical, block);
                Touch(dir, modify: true);
                WriteInode(dir);
                return;
            }
        }
        // No room: append a block holding just the new entry.
        var fresh = new byte[BlockSize];
        Ext4Directory.WriteEntry(fresh, 0, UsableDirectoryBytes, number, name, ft, Superblock.HasFiletype);
        FinishDirectoryBlock(dir, fresh);
        AppendDirectoryBlock(dir, fresh);
        Touch(dir, modify: true);
        WriteInode(dir);
    }

    /// <summary>Adds a finished block (checksum set) at the end of a directory; updates the inode's mapping and size, not yet written.</summary>
    internal uint AppendDirectoryBlock(Ext4Inode dir, byte[] content)
    {
        var (runs, mapBlocks) = MapFile(dir);
        uint nextLogical = (uint)((dir.Size + BlockSize - 1) / BlockSize);
        ulong goal = runs.Count > 0 ? runs[^1].Physical + runs[^1].Length : GoalForInode(dir.Number);
        foreach (ulong b in mapBlocks)
        {
            FreeBlocks(b, 1);
        }
        var allocated = AllocateBlocks(1, goal, $"directory inode {dir.Number}");
        ulong newBlock = allocated[0].Start;
        WriteBlock(newBlock, content);
        if (runs.Count > 0 && runs[^1].Logical + runs[^1].Length == nextLogical && runs[^1].Physical + runs[^1].Length == newBlock && !runs[^1].Uninitialized)
        {
            runs[^1] = runs[^1] with { Length = runs[^1].Length + 1 };
        }
        else
        {
            runs.Add(new Ext4Run(nextLogical, newBlock, 1));
        }
        SetMapping(dir, runs, goal, $"directory inode {dir.Number}");
        dir.Size = (long)(nextLogical + 1) * BlockSize;
        return nextLogical;
    }

    private void RemoveEntry(Ext4Inode dir, byte[] name)
    {
        if ((dir.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            Uninline(dir, null, $"directory inode {dir.Number}");
            dir = ReadInode(dir.Number);
        }
        // Removing an entry from an htree leaf keeps the index valid (hashes and leaf ranges are unchanged).
        foreach (ulong physical in DirectoryBlocks(dir).ToList())
        {
            byte[] block = ReadBlock(physical);
            bool hasTail = Superblock.HasMetadataCsum && Ext4Directory.HasTail(block);
            int usable = hasTail ? UsableDirectoryBytes : BlockSize;
            if (Ext4Directory.TryRemove(this, block, usable, dir.Number, name, Superblock.HasFiletype, out _))
            {
                if (hasTail)
                {
                    SetDirectoryBlockChecksum(dir, block);
                }
                WriteBlock(physical, block);
                Touch(dir, modify: true);
                WriteInode(dir);
                return;
            }
        }
        throw new LinuxImageException(DiagnosticCatalog.GuestPathNotFound, Source, Source, Encoding.UTF8.GetString(name));
    }

    private void SetDotDot(Ext4Inode dir, uint newParent)
    {
        if ((dir.Flags & Ext4Inode.FlagInlineData) != 0)
        {
            Uninline(dir, null, $"directory inode {dir.Number}");
            dir = ReadInode(dir.Number);
        }
        ulong first = DirectoryBlocks(dir).First();
        byte[] block = ReadBlock(first);
        var slots = Ext4Directory.Parse(this, block, dir.Number, Superblock.HasFiletype);
        if (slots.Count < 2 || Ext4Directory.Name(block, slots[1]) != "..")
        {
            throw Damaged($"directory inode {dir.Number} does not start with '.' and '..'");
        }
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(slots[1].Offset), newParent);
        if (Superblock.HasMetadataCsum && Ext4Directory.HasTail(block))
        {
            SetDirectoryBlockChecksum(dir, block);
        }
        WriteBlock(first, block);
    }
}

public sealed partial class Ext4FileSystem
{
    /// <summary>Sets the permission bits (and setuid/setgid/sticky) of an inode, keeping its type.</summary>
    public void SetMode(uint inodeNumber, int permissions)
    {
        Change(() =>
        {
            var inode = ReadInode(inodeNumber);
            inode.Mode = (inode.Mode & Ext4Inode.ModeTypeMask) | (permissions & 0xFFF);
            Touch(inode, modify: false);
            WriteInode(inode);
            return 0;
        });
    }
}
