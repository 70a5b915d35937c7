using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// Deleting: the name leaves its directory; an inode whose last link goes has the blocks of both
/// forks freed (free-space btrees, rmapbt) and goes back to its chunk (inobt, finobt, AGI and
/// superblock counters), its core cleared as the kernel's xfs_ifree leaves it. Chunks that become
/// wholly free stay allocated (as with the ikeep mount option); a data fork's bmbt blocks are freed
/// too. Inodes whose attribute fork is a bmbt, and inodes with blocks the refcount btree lists
/// (shared through reflink), are refused when their last link goes.
/// </summary>
public sealed partial class XfsFileSystem
{
    public void Delete(ulong directory, string name)
    {
        var target = Writable();
        var tx = new XfsTransaction(this);
        var (dirRaw, dir, entries) = Staged(tx, directory);
        var entry = entries.Find(e => e.Name == name) ?? throw new FileNotFoundException($"'{name}' does not exist in directory inode {directory}.");
        var victim = ReadInode(entry.Inode);
        if (victim.IsDirectory)
        {
            if (ReadDirectory(victim).Any(e => e.Name != ".."))
            {
                throw new IOException($"directory '{name}' is not empty.");
            }
            SetLinks(dirRaw, dir.Links - 1);
        }
        entries.Remove(entry);
        DropLink(tx, entry.Inode);
        FinishDirectory(tx, dir, dirRaw, entries, touch: true);
        tx.Commit(target);
    }

    /// <summary>One name of an inode is gone: one link fewer (a directory's two go at once), freed at none.</summary>
    private void DropLink(XfsTransaction tx, ulong ino)
    {
        var current = ReadInode(ino);
        var raw = tx.StagedInode(ino) ?? (byte[])current.Raw.Clone();
        var inode = new XfsInode(ino, raw);
        uint links = inode.IsDirectory || inode.Links == 0 ? 0 : inode.Links - 1;
        if (links > 0)
        {
            SetLinks(raw, links);
            Stamp(raw, inode, modify: false);
            tx.Inode(ino, raw);
            return;
        }
        if (inode.HasAttrFork && inode.AttrFormat == XfsForkFormat.Btree)
        {
            throw Refused($"freeing inode {ino}, whose attribute fork's block map is a bmbt (freeing attribute bmbt blocks is not implemented)");
        }
        if (inode.Format is XfsForkFormat.Extents or XfsForkFormat.Btree)
        {
            var btreeBlocks = new List<ulong>();
            var extents = XfsBmap.Map(this, inode, attr: false, btreeBlocks);
            foreach (ulong b in btreeBlocks)
            {
                tx.Free(ino, b, 1);
            }
            if ((inode.Flags2 & XfsInode.Flags2Reflink) != 0 && SharedExtent(extents) is XfsExtent shared)
            {
                throw Refused($"freeing inode {ino}, whose blocks {shared.Physical}+{shared.Length} are shared with reflinked copies (refcount btree changes are not implemented)");
            }
            foreach (var e in extents)
            {
                tx.Free(ino, e.Physical, e.Length);
            }
        }
        if (inode.HasAttrFork && inode.AttrFormat == XfsForkFormat.Extents)
        {
            foreach (var e in XfsBmap.Map(this, inode, attr: true))
            {
                tx.Free(ino, e.Physical, e.Length);
            }
        }
        var sb = Superblock;
        uint agno = AgOfInode(ino);
        uint agino = (uint)(ino & ((1UL << (sb.AgBlockLog + sb.InodesPerBlockLog)) - 1));
        var ag = tx.Ag(agno);
        var chunk = ag.InodeChunks.Find(c => c.StartIno <= agino && agino < c.StartIno + XfsInodeChunk.InodesPerChunk);
        int index = (int)(agino - chunk.StartIno);
        if (chunk.Count == 0 || (chunk.FreeMask & (1UL << index)) != 0)
        {
            throw Damaged($"inode {ino} is in use but its inode btree record says it is free or does not exist");
        }
        ag.UpdateChunk(chunk.Release(index));
        ag.FreeInodeDelta++;
        tx.FreeInodeDelta++;

        // What xfs_ifree leaves: no mode, no forks, no blocks, a new generation.
        var freed = (byte[])raw.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(freed.AsSpan(2), 0);
        freed[5] = (byte)XfsForkFormat.Extents;
        BinaryPrimitives.WriteUInt16BigEndian(freed.AsSpan(6), 0);
        freed.AsSpan(8, 48 - 8).Clear(); // uid, gid, nlink, projid, pad/big extent count, atime, mtime
        freed.AsSpan(56, 92 - 56).Clear(); // size, nblocks, extsize, extent counts, forkoff, aformat, dmapi, flags
        freed[83] = (byte)XfsForkFormat.Extents;
        BinaryPrimitives.WriteUInt32BigEndian(freed.AsSpan(92), inode.Generation + 1);
        BinaryPrimitives.WriteUInt32BigEndian(freed.AsSpan(96), XfsAgHeaders.NullAgino);
        Stamp(freed, inode, modify: false);
        if (inode.Version >= 3)
        {
            ulong flags2 = (sb.FeaturesIncompat & XfsSuperblock.IncompatBigtime) != 0 ? Flags2Bigtime : 0;
            BinaryPrimitives.WriteUInt64BigEndian(freed.AsSpan(120), flags2 | (sb.HasNrext64 ? XfsInode.Flags2Nrext64 : 0));
            BinaryPrimitives.WriteUInt32BigEndian(freed.AsSpan(128), 0);
        }
        freed.AsSpan(inode.CoreSize).Clear();
        tx.Inode(ino, freed);
    }
}
