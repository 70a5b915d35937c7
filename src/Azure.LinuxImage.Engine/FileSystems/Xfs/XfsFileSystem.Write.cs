using System.Buffers.Binary;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// Rewriting a regular file's contents and changing modes. A file keeps the blocks it has for the
/// part the new contents still cover, gets new blocks (free-space btrees, rmapbt, AGF, superblock
/// counters) for what lies past them, and gives back what lies past the new end; its block map is
/// written as an extent list in the inode, or as a one-leaf bmbt when the list does not fit there
/// (an old bmbt's blocks are freed). A file with unwritten extents is rewritten only inside the
/// written blocks it already maps. Blocks shared through reflink are never written in place: an inode
/// whose blocks the refcount btree lists is refused (copy-on-write and refcount changes are not
/// implemented). Everything is laid out before the first write.
/// </summary>
public sealed partial class XfsFileSystem
{
    private const ulong Flags2Bigtime = 0x8;

    private IWritableVolume Writable() => volume as IWritableVolume ?? throw new InvalidOperationException("The file system was opened on a read-only volume; open it on an overlay to change it.");

    public void ReplaceContent(ulong node, ReadOnlySpan<byte> content)
    {
        var target = Writable();
        var inode = ReadInode(node);
        if (!inode.IsRegular)
        {
            throw new IOException($"inode {node} is not a regular file.");
        }
        if (inode.Format is not (XfsForkFormat.Extents or XfsForkFormat.Btree))
        {
            throw Refused($"rewriting inode {node} with data fork format {inode.Format}");
        }
        var btreeBlocks = new List<ulong>();
        var extents = XfsBmap.Map(this, inode, attr: false, btreeBlocks);
        if ((inode.Flags2 & XfsInode.Flags2Reflink) != 0 && SharedExtent(extents) is XfsExtent shared)
        {
            throw Refused($"rewriting inode {node}, whose blocks {shared.Physical}+{shared.Length} are shared with reflinked copies (copy-on-write and refcount changes are not implemented)");
        }
        if (extents.Exists(e => e.Unwritten))
        {
            ReplaceInPlace(target, inode, extents, content);
            return;
        }
        var tx = new XfsTransaction(this);
        var raw = (byte[])inode.Raw.Clone();
        var mapped = RemapFork(tx, inode, raw, extents, ((ulong)content.Length + (ulong)Superblock.BlockSize - 1) / (ulong)Superblock.BlockSize, btreeBlocks);
        BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(56), (ulong)content.Length);
        Stamp(raw, inode, modify: true);
        tx.Inode(node, raw);
        WriteForkData(tx, mapped, content);
        tx.Commit(target);
    }

    /// <summary>
    /// Makes the data fork of an inode map exactly fork blocks [0, <paramref name="need"/>), as <see cref="RemapFork(XfsTransaction, XfsInode, byte[], List{XfsExtent}, IReadOnlyList{ValueTuple{ulong, ulong}})"/>.
    /// </summary>
    internal List<XfsExtent> RemapFork(XfsTransaction tx, XfsInode inode, byte[] raw, List<XfsExtent> extents, ulong need, List<ulong>? oldBtreeBlocks = null) =>
        RemapFork(tx, inode, raw, extents, need == 0 ? [] : [(0UL, need)], oldBtreeBlocks);

    /// <summary>
    /// Makes the data fork of an inode map exactly the fork block ranges <paramref name="wanted"/>
    /// (sorted, not overlapping): keeps what is mapped there, allocates the holes, frees the rest,
    /// writes the extent list and block count into <paramref name="raw"/>; refuses when the list
    /// would not fit the fork.
    /// </summary>
    internal List<XfsExtent> RemapFork(XfsTransaction tx, XfsInode inode, byte[] raw, List<XfsExtent> extents, IReadOnlyList<(ulong Start, ulong Count)> wanted, List<ulong>? oldBtreeBlocks = null)
    {
        var kept = new List<XfsExtent>();
        long blocks = (long)inode.BlockCount;
        foreach (var e in extents)
        {
            // Cut the extent at the wanted ranges' edges; keep the pieces inside, free the others.
            ulong pos = e.Logical, end = e.Logical + e.Length;
            while (pos < end)
            {
                ulong pieceEnd = end;
                bool inside = false;
                foreach (var (start, count) in wanted)
                {
                    if (pos >= start && pos < start + count)
                    {
                        inside = true;
                        pieceEnd = Math.Min(end, start + count);
                        break;
                    }
                    if (start > pos)
                    {
                        pieceEnd = Math.Min(pieceEnd, start);
                    }
                }
                var piece = e with { Logical = pos, Physical = e.Physical + (pos - e.Logical), Length = pieceEnd - pos };
                if (inside)
                {
                    kept.Add(piece);
                }
                else
                {
                    tx.Free(inode.Number, piece.Physical, piece.Length);
                    blocks -= (long)piece.Length;
                }
                pos = pieceEnd;
            }
        }
        var result = new List<XfsExtent>();
        int k = 0;
        uint ag = AgOfInode(inode.Number);
        foreach (var (start, count) in wanted)
        {
            ulong at = start, need = start + count;
            while (at < need)
            {
                if (k < kept.Count && kept[k].Logical == at)
                {
                    Append(result, kept[k]);
                    at += kept[k].Length;
                    k++;
                    continue;
                }
                ulong gapEnd = k < kept.Count && kept[k].Logical < need ? kept[k].Logical : need;
                ulong? near = result.Count > 0 ? result[^1].Physical + result[^1].Length : null;
                foreach (var got in tx.Allocate(inode.Number, at, gapEnd - at, near, near is ulong n ? tx.Split(n).Ag : ag))
                {
                    Append(result, got);
                }
                blocks += (long)(gapEnd - at);
                at = gapEnd;
            }
        }
        foreach (ulong b in oldBtreeBlocks ?? [])
        {
            tx.Free(inode.Number, b, 1);
            blocks--;
        }
        int records = result.Sum(e => (int)((e.Length + XfsExtent.MaxLength - 1) / XfsExtent.MaxLength));
        int forkSize = DataForkSize(inode);
        var packedRecords = new byte[records * XfsExtent.RecordSize];
        int r = 0;
        foreach (var e in result)
        {
            for (ulong done = 0; done < e.Length; done += XfsExtent.MaxLength)
            {
                ulong n = Math.Min(XfsExtent.MaxLength, e.Length - done);
                XfsExtent.Pack(packedRecords.AsSpan(r * XfsExtent.RecordSize, XfsExtent.RecordSize), e.Logical + done, FsBlock(e.Physical + done), n, false);
                r++;
            }
        }
        var fork = raw.AsSpan(inode.CoreSize, forkSize);
        fork.Clear();
        if (records <= forkSize / XfsExtent.RecordSize)
        {
            packedRecords.CopyTo(fork);
            raw[5] = (byte)XfsForkFormat.Extents;
        }
        else
        {
            // Too many for the inode: a bmbt of one leaf under a root in the inode (xfs_bmap_extents_to_btree).
            var sb = Superblock;
            int header = sb.IsV5 ? XfsBmap.LongHeaderV5 : XfsBmap.LongHeaderV4;
            int leafCapacity = (sb.BlockSize - header) / XfsExtent.RecordSize;
            if (records > leafCapacity)
            {
                throw Refused($"giving inode {inode.Number} {records} extents, more than one bmbt leaf holds ({leafCapacity}; deeper bmbts are not implemented)");
            }
            ulong? near = result.Count > 0 ? result[^1].Physical + result[^1].Length : null;
            ulong leaf = tx.Allocate(inode.Number, 0, 1, near, near is ulong n0 ? tx.Split(n0).Ag : ag, XfsRmap.FlagBmbt)[0].Physical;
            blocks++;
            var image = new byte[sb.BlockSize];
            BinaryPrimitives.WriteUInt32BigEndian(image, sb.IsV5 ? XfsBmap.MagicV5 : XfsBmap.MagicV4);
            BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(6), (ushort)records);
            BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(8), ulong.MaxValue);
            BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(16), ulong.MaxValue);
            packedRecords.CopyTo(image.AsSpan(header));
            if (sb.IsV5)
            {
                BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(24), leaf << (sb.BlockLog - 9));
                sb.MetadataUuid.CopyTo(image.AsSpan(40));
                BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(XfsBmap.LongOwnerOffset), inode.Number);
                XfsChecksum.Update(image, XfsBmap.LongCrcOffset);
            }
            tx.Write((long)leaf * sb.BlockSize, image);
            int rootCapacity = (forkSize - 4) / 16;
            BinaryPrimitives.WriteUInt16BigEndian(fork, 1);
            BinaryPrimitives.WriteUInt16BigEndian(fork[2..], 1);
            BinaryPrimitives.WriteUInt64BigEndian(fork[4..], result[0].Logical);
            BinaryPrimitives.WriteUInt64BigEndian(fork[(4 + (rootCapacity * 8))..], FsBlock(leaf));
            raw[5] = (byte)XfsForkFormat.Btree;
        }
        SetDataExtentCount(raw, inode, (ulong)records);
        BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(64), (ulong)blocks);
        return result;
    }

    private static void Append(List<XfsExtent> list, XfsExtent e)
    {
        if (list.Count > 0 && list[^1].Logical + list[^1].Length == e.Logical && list[^1].Physical + list[^1].Length == e.Physical && !list[^1].Unwritten && !e.Unwritten)
        {
            list[^1] = list[^1] with { Length = list[^1].Length + e.Length };
        }
        else
        {
            list.Add(e);
        }
    }

    internal int DataForkSize(XfsInode inode) => inode.HasAttrFork ? inode.ForkOffset : inode.Raw.Length - inode.CoreSize;

    internal static void SetDataExtentCount(byte[] raw, XfsInode inode, ulong count)
    {
        if ((inode.Flags2 & XfsInode.Flags2Nrext64) != 0)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(24), count);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(raw.AsSpan(76), (uint)count);
        }
    }

    /// <summary>Stages <paramref name="data"/> at fork block <paramref name="logical"/> onward into the mapped blocks.</summary>
    internal void WriteForkRange(XfsTransaction tx, List<XfsExtent> mapped, ulong logical, byte[] data)
    {
        int bs = Superblock.BlockSize;
        ulong count = (ulong)data.Length / (ulong)bs;
        foreach (var e in mapped)
        {
            ulong from = Math.Max(e.Logical, logical), to = Math.Min(e.Logical + e.Length, logical + count);
            if (from < to)
            {
                tx.Write((long)(e.Physical + (from - e.Logical)) * bs, data.AsSpan((int)((from - logical) * (ulong)bs), (int)((to - from) * (ulong)bs)).ToArray());
            }
        }
    }

    /// <summary>Stages the contents into the mapped blocks, the last block's tail as zeros.</summary>
    internal void WriteForkData(XfsTransaction tx, List<XfsExtent> mapped, ReadOnlySpan<byte> content)
    {
        int bs = Superblock.BlockSize;
        foreach (var e in mapped)
        {
            long start = (long)e.Logical * bs;
            var buffer = new byte[(long)e.Length * bs];
            int n = (int)Math.Min(buffer.Length, content.Length - start);
            if (n > 0)
            {
                content.Slice((int)start, n).CopyTo(buffer);
            }
            tx.Write((long)e.Physical * bs, buffer);
        }
    }

    /// <summary>The first extent some block of which the refcount btree lists (shared, or staged for copy-on-write).</summary>
    private XfsExtent? SharedExtent(List<XfsExtent> extents)
    {
        if ((Superblock.FeaturesRoCompat & XfsSuperblock.RoCompatReflink) == 0)
        {
            return null;
        }
        var byAg = new Dictionary<uint, List<(uint Start, uint Length)>>();
        foreach (var e in extents)
        {
            uint agno = (uint)(e.Physical / Superblock.AgBlocks);
            if (!byAg.TryGetValue(agno, out var records))
            {
                records = XfsAgHeaders.RefcountRecords(this, agno);
                byAg[agno] = records;
            }
            uint s = (uint)(e.Physical % Superblock.AgBlocks);
            if (records.Exists(r => r.Start < s + e.Length && s < r.Start + r.Length))
            {
                return e;
            }
        }
        return null;
    }

    /// <summary>The old path: contents inside the written blocks already mapped from block 0, nothing allocated or freed.</summary>
    private void ReplaceInPlace(IWritableVolume target, XfsInode inode, List<XfsExtent> extents, ReadOnlySpan<byte> content)
    {
        ulong node = inode.Number;
        int bs = Superblock.BlockSize;
        ulong need = ((ulong)content.Length + (ulong)bs - 1) / (ulong)bs;
        var writes = new List<(long Offset, int Start, int Length)>();
        ulong covered = 0;
        foreach (var e in extents)
        {
            if (covered >= need)
            {
                break;
            }
            if (e.Logical != covered || e.Unwritten)
            {
                break;
            }
            ulong n = Math.Min(e.Length, need - covered);
            int start = (int)(covered * (ulong)bs);
            int length = (int)Math.Min((long)n * bs, content.Length - start);
            writes.Add(((long)e.Physical * bs, start, length));
            covered += n;
        }
        if (covered < need)
        {
            throw Refused($"growing inode {node} to {content.Length} bytes past the written blocks it maps, with a data fork in {inode.Format} form{(extents.Exists(e => e.Unwritten) ? " and unwritten extents" : "")} (allocating into a bmbt or converting unwritten extents is not implemented)");
        }
        var raw = (byte[])inode.Raw.Clone();
        BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(56), (ulong)content.Length);
        Stamp(raw, inode, modify: true);

        foreach (var (offset, start, length) in writes)
        {
            target.WriteAt(offset, content.Slice(start, length));
        }
        int tail = content.Length % bs;
        if (tail != 0)
        {
            // What lies past the end in the last block reads as zeros, as the kernel leaves it.
            var last = writes[^1];
            target.WriteAt(last.Offset + last.Length, new byte[bs - tail]);
        }
        WriteInode(target, node, raw);
    }

    public void SetMode(ulong node, int permissions)
    {
        var target = Writable();
        var inode = ReadInode(node);
        var raw = (byte[])inode.Raw.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(raw.AsSpan(2), (ushort)((inode.Mode & XfsInode.ModeTypeMask) | (permissions & 0xFFF)));
        Stamp(raw, inode, modify: false);
        WriteInode(target, node, raw);
    }

    /// <summary>The clock's time in an inode's format (bigtime or seconds and nanoseconds).</summary>
    private byte[] Timestamp(ulong flags2)
    {
        var now = Clock();
        long seconds = now.ToUnixTimeSeconds();
        uint nanos = (uint)((now.UtcTicks % TimeSpan.TicksPerSecond) * 100);
        var t = new byte[8];
        if ((flags2 & Flags2Bigtime) != 0)
        {
            BinaryPrimitives.WriteUInt64BigEndian(t, ((ulong)(seconds + 2147483648L) * 1_000_000_000UL) + nanos);
        }
        else
        {
            BinaryPrimitives.WriteInt32BigEndian(t, (int)Math.Clamp(seconds, int.MinValue, int.MaxValue));
            BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(4), nanos);
        }
        return t;
    }

    /// <summary>ctime (and mtime) from the clock in the inode's time format, the v3 change count, then the CRC is set by <see cref="WriteInode"/>.</summary>
    private void Stamp(byte[] raw, XfsInode inode, bool modify)
    {
        var t = Timestamp(inode.Flags2);
        t.CopyTo(raw.AsSpan(48)); // di_ctime
        if (modify)
        {
            t.CopyTo(raw.AsSpan(40)); // di_mtime
        }
        if (inode.Version >= 3)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(104), BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(104)) + 1);
        }
    }

    private void WriteInode(IWritableVolume target, ulong node, byte[] raw)
    {
        var updated = new XfsInode(node, raw);
        if (updated.Version >= 3)
        {
            XfsChecksum.Update(raw, XfsInode.CrcOffset);
        }
        target.WriteAt(InodeOffset(node), raw);
        inodes[node] = updated;
    }
}
