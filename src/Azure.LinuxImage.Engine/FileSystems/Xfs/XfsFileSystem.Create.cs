using System.Buffers.Binary;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// Creating files, directories and symbolic links: an inode taken from an existing inode chunk
/// (inobt and finobt records, sparse chunks' holes respected, AGI and superblock counters), a new
/// inode core (v3 with CRC, bigtime and large extent counters as the superblock says, or v2 on v4),
/// its data, and the name added to the parent directory. When no chunk has a free inode a new full
/// chunk is allocated (sparse chunks are not made; LIMG0343 when no aligned space is left).
/// </summary>
public sealed partial class XfsFileSystem
{
    private const int MaxNameLength = 255;

    public ulong CreateFile(ulong directory, string name, ReadOnlySpan<byte> content, int mode, int uid, int gid)
    {
        var target = Writable();
        var tx = new XfsTransaction(this);
        var (dirRaw, dir, entries) = PrepareAdd(tx, directory, name);
        ulong ino = AllocateInode(tx, AgOfInode(directory));
        var raw = NewInode(ino, XfsInode.ModeFile | (mode & 0xFFF), uid, gid, links: 1);
        var inode = new XfsInode(ino, raw);
        var mapped = RemapFork(tx, inode, raw, [], ((ulong)content.Length + (ulong)Superblock.BlockSize - 1) / (ulong)Superblock.BlockSize);
        BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(56), (ulong)content.Length);
        WriteForkData(tx, mapped, content);
        tx.Inode(ino, raw);
        entries.Add(new XfsDirEntry(name, ino, Superblock.HasFtype ? XfsDirEntry.TypeFile : XfsDirEntry.TypeUnknown));
        FinishDirectory(tx, dir, dirRaw, entries, touch: true);
        tx.Commit(target);
        return ino;
    }

    public ulong CreateDirectory(ulong directory, string name, int mode, int uid, int gid)
    {
        var target = Writable();
        var tx = new XfsTransaction(this);
        var (dirRaw, dir, entries) = PrepareAdd(tx, directory, name);
        ulong ino = AllocateInode(tx, AgOfInode(directory));
        var raw = NewInode(ino, XfsInode.ModeDirectory | (mode & 0xFFF), uid, gid, links: 2);
        XfsDirWrite.Write(this, tx, new XfsInode(ino, raw), raw, directory, []);
        tx.Inode(ino, raw);
        entries.Add(new XfsDirEntry(name, ino, Superblock.HasFtype ? XfsDirEntry.TypeDirectory : XfsDirEntry.TypeUnknown));
        SetLinks(dirRaw, dir.Links + 1);
        FinishDirectory(tx, dir, dirRaw, entries, touch: true);
        tx.Commit(target);
        return ino;
    }

    public ulong CreateSymlink(ulong directory, string name, string target, int uid, int gid)
    {
        var volumeTarget = Writable();
        byte[] bytes = Encoding.UTF8.GetBytes(target);
        if (bytes.Length is 0 or > XfsSymlink.MaxLength)
        {
            throw new IOException($"a symbolic link target of {bytes.Length} bytes cannot be stored (1 to {XfsSymlink.MaxLength}).");
        }
        var tx = new XfsTransaction(this);
        var (dirRaw, dir, entries) = PrepareAdd(tx, directory, name);
        ulong ino = AllocateInode(tx, AgOfInode(directory));
        var raw = NewInode(ino, XfsInode.ModeSymlink | 0x1FF, uid, gid, links: 1);
        var inode = new XfsInode(ino, raw);
        BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(56), (ulong)bytes.Length);
        if (bytes.Length <= DataForkSize(inode))
        {
            raw[5] = (byte)XfsForkFormat.Local;
            bytes.CopyTo(raw.AsSpan(inode.CoreSize));
        }
        else
        {
            // Remote: on v5 every block starts with a header naming the offset, length and owner.
            int bs = Superblock.BlockSize;
            int perBlock = Superblock.IsV5 ? bs - XfsSymlink.HeaderSize : bs;
            int blocks = (bytes.Length + perBlock - 1) / perBlock;
            var mapped = RemapFork(tx, inode, raw, [], (ulong)blocks);
            for (int b = 0; b < blocks; b++)
            {
                var image = new byte[bs];
                int offset = b * perBlock, n = Math.Min(perBlock, bytes.Length - offset);
                var physical = mapped.Find(e => e.Logical <= (ulong)b && (ulong)b < e.Logical + e.Length);
                if (Superblock.IsV5)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(image, XfsSymlink.Magic);
                    BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(4), (uint)offset);
                    BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(8), (uint)n);
                    Superblock.MetadataUuid.CopyTo(image.AsSpan(16));
                    BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(32), ino);
                    BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(40), (physical.Physical + ((ulong)b - physical.Logical)) << (Superblock.BlockLog - 9));
                    bytes.AsSpan(offset, n).CopyTo(image.AsSpan(XfsSymlink.HeaderSize));
                    XfsChecksum.Update(image, XfsSymlink.CrcOffset);
                }
                else
                {
                    bytes.AsSpan(offset, n).CopyTo(image);
                }
                WriteForkRange(tx, mapped, (ulong)b, image);
            }
        }
        tx.Inode(ino, raw);
        entries.Add(new XfsDirEntry(name, ino, Superblock.HasFtype ? XfsDirEntry.TypeSymlink : XfsDirEntry.TypeUnknown));
        FinishDirectory(tx, dir, dirRaw, entries, touch: true);
        tx.Commit(volumeTarget);
        return ino;
    }

    /// <summary>The directory's staged image, inode and entries (without '..'), checked to take <paramref name="name"/>.</summary>
    private (byte[] Raw, XfsInode Dir, List<XfsDirEntry> Entries) PrepareAdd(XfsTransaction tx, ulong directory, string name)
    {
        CheckName(name);
        var (raw, dir, entries) = Staged(tx, directory);
        if (entries.Exists(e => e.Name == name))
        {
            throw new IOException($"'{name}' already exists in directory inode {directory}.");
        }
        return (raw, dir, entries);
    }

    private static void CheckName(string name)
    {
        int length = Encoding.UTF8.GetByteCount(name);
        if (length is 0 or > MaxNameLength || name is "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new IOException($"'{name}' is not a valid XFS file name.");
        }
    }

    /// <summary>A directory as this transaction has it: its image (staged or current), inode and entries without '..'.</summary>
    private (byte[] Raw, XfsInode Dir, List<XfsDirEntry> Entries) Staged(XfsTransaction tx, ulong directory)
    {
        var current = ReadInode(directory);
        if (!current.IsDirectory)
        {
            throw new IOException($"inode {directory} is not a directory.");
        }
        var raw = tx.StagedInode(directory) ?? (byte[])current.Raw.Clone();
        var entries = ReadDirectory(current).Where(e => e.Name != "..").ToList();
        return (raw, new XfsInode(directory, raw), entries);
    }

    private ulong ParentOf(XfsInode dir) => ReadDirectory(dir).First(e => e.Name == "..").Inode;

    /// <summary>Rewrites a directory from its entries, stamps it and stages it.</summary>
    private void FinishDirectory(XfsTransaction tx, XfsInode dir, byte[] raw, List<XfsDirEntry> entries, bool touch, ulong? parent = null)
    {
        XfsDirWrite.Write(this, tx, new XfsInode(dir.Number, raw), raw, parent ?? ParentOf(ReadInode(dir.Number)), entries);
        if (touch)
        {
            Stamp(raw, dir, modify: true);
        }
        tx.Inode(dir.Number, raw);
    }

    private static void SetLinks(byte[] raw, uint links)
    {
        BinaryPrimitives.WriteUInt32BigEndian(raw.AsSpan(16), links);
    }

    /// <summary>Takes a free inode from an existing chunk, the parent's group first; without one, allocates a new chunk.</summary>
    private ulong AllocateInode(XfsTransaction tx, uint preferredAg)
    {
        var sb = Superblock;
        var order = Enumerable.Range(0, (int)sb.AgCount).Select(a => (uint)a).OrderBy(a => a == preferredAg ? 0 : 1).ThenBy(a => a).ToList();
        for (int attempt = 0; attempt < 2; attempt++)
        {
            foreach (uint agno in order)
            {
                var ag = tx.Ag(agno);
                foreach (var chunk in ag.InodeChunks)
                {
                    if (!chunk.Consistent)
                    {
                        throw Damaged($"the inode btree of allocation group {agno} has an inconsistent record for inodes from {chunk.StartIno}");
                    }
                    int index = chunk.FirstFree();
                    if (index < 0)
                    {
                        continue;
                    }
                    ag.UpdateChunk(chunk.Take(index));
                    ag.FreeInodeDelta--;
                    tx.FreeInodeDelta--;
                    ulong ino = ((ulong)agno << (sb.AgBlockLog + sb.InodesPerBlockLog)) | (chunk.StartIno + (uint)index);
                    if (((chunk.StartIno + (uint)index) >> sb.InodesPerBlockLog) >= ag.Length)
                    {
                        throw Damaged($"the inode btree of allocation group {agno} lists inode {ino} outside the group");
                    }
                    return ino;
                }
            }
            if (attempt == 0 && !order.Any(agno => AllocateInodeChunk(tx, agno)))
            {
                break;
            }
        }
        throw new LinuxImageException(DiagnosticCatalog.XfsNoSpace, Source, Source, "a new inode", "a free inode, or aligned free blocks for a new inode chunk");
    }

    /// <summary>
    /// A new full chunk of 64 inodes (xfs_ialloc_ag_alloc): blocks aligned to the superblock's inode
    /// alignment, owned by OWN_INODES in the rmapbt, every inode initialised as the kernel does
    /// (magic, version, next-unlinked null, and on v5 number, UUID and CRC).
    /// </summary>
    private bool AllocateInodeChunk(XfsTransaction tx, uint agno)
    {
        var sb = Superblock;
        if (sb.InodesPerBlock > XfsInodeChunk.InodesPerChunk)
        {
            return false;
        }
        uint blocks = (uint)(XfsInodeChunk.InodesPerChunk / sb.InodesPerBlock);
        uint align = Math.Max(blocks, BinaryPrimitives.ReadUInt32BigEndian(sb.Raw[180..]));
        var ag = tx.Ag(agno);
        // Leave the group room for the btree blocks the change itself needs.
        if (ag.Free.Sum(f => (long)f.Length) < blocks + 16 || ag.AllocateAligned(blocks, align) is not uint start)
        {
            return false;
        }
        ag.Rmaps?.Add(start, blocks, XfsRmap.OwnInodes, 0);
        uint startIno = start << sb.InodesPerBlockLog;
        ag.AddChunk(new XfsInodeChunk(startIno, 0, XfsInodeChunk.InodesPerChunk, XfsInodeChunk.InodesPerChunk, ulong.MaxValue));
        ag.FreeInodeDelta += XfsInodeChunk.InodesPerChunk;
        tx.FreeInodeDelta += XfsInodeChunk.InodesPerChunk;
        tx.InodeCountDelta += XfsInodeChunk.InodesPerChunk;
        var image = new byte[blocks * (uint)sb.BlockSize];
        for (int i = 0; i < XfsInodeChunk.InodesPerChunk; i++)
        {
            var raw = image.AsSpan(i * sb.InodeSize, sb.InodeSize);
            BinaryPrimitives.WriteUInt16BigEndian(raw, XfsInode.Magic);
            raw[4] = (byte)(sb.IsV5 ? 3 : 2);
            BinaryPrimitives.WriteUInt32BigEndian(raw[96..], XfsAgHeaders.NullAgino);
            if (sb.IsV5)
            {
                BinaryPrimitives.WriteUInt64BigEndian(raw[152..], ((ulong)agno << (sb.AgBlockLog + sb.InodesPerBlockLog)) | (startIno + (uint)i));
                sb.MetadataUuid.CopyTo(raw[160..]);
                XfsChecksum.Update(raw, XfsInode.CrcOffset);
            }
        }
        tx.Write((long)tx.Linear(agno, start) * sb.BlockSize, image);
        return true;
    }

    /// <summary>A new inode core: the superblock's inode version and time format, empty extent-form forks, times from the clock.</summary>
    private byte[] NewInode(ulong ino, int mode, int uid, int gid, uint links)
    {
        var sb = Superblock;
        byte[] old = ReadBytes(InodeOffset(ino), sb.InodeSize);
        uint generation = BinaryPrimitives.ReadUInt16BigEndian(old) == XfsInode.Magic ? BinaryPrimitives.ReadUInt32BigEndian(old.AsSpan(92)) + 1 : 0;
        var raw = new byte[sb.InodeSize];
        BinaryPrimitives.WriteUInt16BigEndian(raw, XfsInode.Magic);
        BinaryPrimitives.WriteUInt16BigEndian(raw.AsSpan(2), (ushort)mode);
        raw[4] = (byte)(sb.IsV5 ? 3 : 2);
        raw[5] = (byte)XfsForkFormat.Extents;
        BinaryPrimitives.WriteUInt32BigEndian(raw.AsSpan(8), (uint)uid);
        BinaryPrimitives.WriteUInt32BigEndian(raw.AsSpan(12), (uint)gid);
        SetLinks(raw, links);
        ulong flags2 = 0;
        if (sb.IsV5 && (sb.FeaturesIncompat & XfsSuperblock.IncompatBigtime) != 0)
        {
            flags2 |= Flags2Bigtime;
        }
        if (sb.HasNrext64)
        {
            flags2 |= XfsInode.Flags2Nrext64;
        }
        var now = Timestamp(flags2);
        now.CopyTo(raw.AsSpan(32));
        now.CopyTo(raw.AsSpan(40));
        now.CopyTo(raw.AsSpan(48));
        raw[83] = (byte)XfsForkFormat.Extents;
        BinaryPrimitives.WriteUInt32BigEndian(raw.AsSpan(92), generation);
        BinaryPrimitives.WriteUInt32BigEndian(raw.AsSpan(96), XfsAgHeaders.NullAgino);
        if (sb.IsV5)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(104), 1);
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(120), flags2);
            now.CopyTo(raw.AsSpan(144));
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(152), ino);
            sb.MetadataUuid.CopyTo(raw.AsSpan(160));
        }
        return raw;
    }
}
