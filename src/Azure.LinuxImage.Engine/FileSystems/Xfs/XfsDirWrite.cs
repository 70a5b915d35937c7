using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// Writes a directory whole from its entries, in the smallest form that holds them: short form in
/// the inode, one block (entries, free space, hash-sorted leaf, tail), or leaf form (packed data
/// blocks, a single leaf block with the hashes and each data block's best free length). The
/// entries are laid out packed in their order, so each data block ends in at most one free region
/// and its bestfree table has at most one entry. Node form (a directory too big for one leaf
/// block) is refused. The directory's blocks are kept where the new layout still uses them,
/// allocated where it grows and freed where it shrinks.
/// </summary>
internal static class XfsDirWrite
{
    public const ushort Leaf1MagicV5 = 0x3DF1, Leaf1MagicV4 = 0xD2F1;
    private const int LeafHeaderV5 = 64, LeafHeaderV4 = 16;

    private sealed record Placed(XfsDirEntry Entry, byte[] Name, int Block, int Offset);

    public static void Write(XfsFileSystem fs, XfsTransaction tx, XfsInode dir, byte[] raw, ulong parent, IReadOnlyList<XfsDirEntry> entries)
    {
        var sb = fs.Superblock;
        bool ftype = sb.HasFtype;
        int dirBlock = sb.DirBlockSize;
        int fsbPerDir = 1 << sb.DirBlockLog;
        int header = sb.IsV5 ? XfsDirData.HeaderV5 : XfsDirData.HeaderV4;
        int dots = XfsDirData.EntrySize(1, ftype) + XfsDirData.EntrySize(2, ftype);
        var names = entries.Select(e => Encoding.UTF8.GetBytes(e.Name)).ToList();
        var extents = dir.Format == XfsForkFormat.Local ? [] : XfsBmap.Map(fs, dir, attr: false);
        if (dir.Format == XfsForkFormat.Btree)
        {
            throw fs.Refused($"changing directory inode {dir.Number}, whose block map is a bmbt (a node or btree directory)");
        }

        // Short form: when it fits the fork and its entries' offsets fit one directory block.
        bool wide = parent > uint.MaxValue || entries.Any(e => e.Inode > uint.MaxValue);
        int inoSize = wide ? 8 : 4;
        int sfSize = 2 + inoSize + names.Sum(n => 3 + n.Length + (ftype ? 1 : 0) + inoSize);
        int packed = header + dots + names.Sum(n => XfsDirData.EntrySize(n.Length, ftype));
        bool blockFits = packed + ((entries.Count + 2) * 8) + 8 <= dirBlock;
        if (sfSize <= fs.DataForkSize(dir) && blockFits)
        {
            fs.RemapFork(tx, dir, raw, extents, []);
            raw[5] = (byte)XfsForkFormat.Local;
            var fork = raw.AsSpan(dir.CoreSize, fs.DataForkSize(dir));
            fork.Clear();
            fork[0] = (byte)entries.Count;
            fork[1] = (byte)(wide ? entries.Count(e => e.Inode > uint.MaxValue) + (parent > uint.MaxValue ? 1 : 0) : 0);
            PutIno(fork[2..], parent, inoSize);
            int p = 2 + inoSize, offset = header + dots;
            for (int i = 0; i < entries.Count; i++)
            {
                fork[p] = (byte)names[i].Length;
                BinaryPrimitives.WriteUInt16BigEndian(fork[(p + 1)..], (ushort)offset);
                names[i].CopyTo(fork[(p + 3)..]);
                int q = p + 3 + names[i].Length;
                if (ftype)
                {
                    fork[q++] = entries[i].FileType;
                }
                PutIno(fork[q..], entries[i].Inode, inoSize);
                p = q + inoSize;
                offset += XfsDirData.EntrySize(names[i].Length, ftype);
            }
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(56), (ulong)sfSize);
            return;
        }

        // Entries placed into data blocks in order.
        var placed = new List<Placed>();
        int block = 0, at = header + dots;
        int capacity = blockFits ? dirBlock - ((entries.Count + 2) * 8) - 8 : dirBlock;
        for (int i = 0; i < entries.Count; i++)
        {
            int size = XfsDirData.EntrySize(names[i].Length, ftype);
            if (at + size > capacity)
            {
                block++;
                at = header;
            }
            placed.Add(new Placed(entries[i], names[i], block, at));
            at += size;
        }
        int dataBlocks = block + 1;
        int leafHeader = sb.IsV5 ? LeafHeaderV5 : LeafHeaderV4;
        if (!blockFits && leafHeader + ((entries.Count + 2) * 8) + (2 * dataBlocks) + 4 > dirBlock)
        {
            throw fs.Refused($"growing directory inode {dir.Number} to {entries.Count} entries, past one leaf block (node-form directories are not implemented)");
        }
        ulong leafLogical = XfsDirectory.LeafOffsetBytes >> sb.BlockLog;
        var wanted = new List<(ulong Start, ulong Count)> { (0, (ulong)(dataBlocks * fsbPerDir)) };
        if (!blockFits)
        {
            wanted.Add((leafLogical, (ulong)fsbPerDir));
        }
        var mapped = fs.RemapFork(tx, dir, raw, extents, wanted);
        raw[5] = (byte)XfsForkFormat.Extents;
        BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(56), (ulong)(dataBlocks * dirBlock));

        var leaf = new List<(uint Hash, uint Address)>
        {
            (XfsDaHash.Hash("."u8), (uint)(header >> 3)),
            (XfsDaHash.Hash(".."u8), (uint)((header + XfsDirData.EntrySize(1, ftype)) >> 3)),
        };
        var bests = new ushort[dataBlocks];
        for (int db = 0; db < dataBlocks; db++)
        {
            var image = new byte[dirBlock];
            bool isBlock = blockFits;
            BinaryPrimitives.WriteUInt32BigEndian(image, isBlock ? (sb.IsV5 ? XfsDirData.BlockMagicV5 : XfsDirData.BlockMagicV4) : (sb.IsV5 ? XfsDirData.DataMagicV5 : XfsDirData.DataMagicV4));
            int p = header;
            if (db == 0)
            {
                p = PutEntry(image, p, dir.Number, "."u8, XfsDirEntry.TypeDirectory, ftype);
                p = PutEntry(image, p, parent, ".."u8, XfsDirEntry.TypeDirectory, ftype);
            }
            foreach (var e in placed.Where(e => e.Block == db))
            {
                p = PutEntry(image, e.Offset, e.Entry.Inode, e.Name, e.Entry.FileType, ftype);
                leaf.Add((XfsDaHash.Hash(e.Name), (uint)(((db * dirBlock) + e.Offset) >> 3)));
            }
            int end = isBlock ? dirBlock - ((entries.Count + 2) * 8) - 8 : dirBlock;
            int bestFreeAt = sb.IsV5 ? 48 : 4;
            if (end > p)
            {
                // The one free region: tag, length, ..., its own offset.
                BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(p), XfsDirData.FreeTag);
                BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(p + 2), (ushort)(end - p));
                BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(end - 2), (ushort)p);
                BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(bestFreeAt), (ushort)p);
                BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(bestFreeAt + 2), (ushort)(end - p));
                bests[db] = (ushort)(end - p);
            }
            if (isBlock)
            {
                leaf.Sort((a, b) => a.Hash != b.Hash ? a.Hash.CompareTo(b.Hash) : a.Address.CompareTo(b.Address));
                int l = dirBlock - 8 - (leaf.Count * 8);
                foreach (var (hash, address) in leaf)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(l), hash);
                    BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(l + 4), address);
                    l += 8;
                }
                BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(dirBlock - 8), (uint)leaf.Count);
            }
            Finish(fs, tx, dir.Number, mapped, (ulong)(db * fsbPerDir), image, sb.IsV5 ? 8 : -1, XfsDirData.CrcOffset);
        }
        if (!blockFits)
        {
            var image = new byte[dirBlock];
            BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(8), sb.IsV5 ? Leaf1MagicV5 : Leaf1MagicV4);
            BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(sb.IsV5 ? 56 : 12), (ushort)leaf.Count);
            leaf.Sort((a, b) => a.Hash != b.Hash ? a.Hash.CompareTo(b.Hash) : a.Address.CompareTo(b.Address));
            int l = leafHeader;
            foreach (var (hash, address) in leaf)
            {
                BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(l), hash);
                BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(l + 4), address);
                l += 8;
            }
            int bestsAt = dirBlock - 4 - (2 * dataBlocks);
            for (int db = 0; db < dataBlocks; db++)
            {
                BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(bestsAt + (2 * db)), bests[db]);
            }
            BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(dirBlock - 4), (uint)dataBlocks);
            Finish(fs, tx, dir.Number, mapped, leafLogical, image, sb.IsV5 ? 16 : -1, 12);
        }
    }

    /// <summary>Stamps the v5 header (block number, UUID, owner) and CRC, then stages the block across its fork blocks.</summary>
    private static void Finish(XfsFileSystem fs, XfsTransaction tx, ulong owner, List<XfsExtent> mapped, ulong logical, byte[] image, int blknoAt, int crcAt)
    {
        var sb = fs.Superblock;
        var first = mapped.Find(e => e.Logical <= logical && logical < e.Logical + e.Length);
        if (blknoAt >= 0)
        {
            ulong physical = first.Physical + (logical - first.Logical);
            BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(blknoAt), physical << (sb.BlockLog - 9));
            sb.MetadataUuid.CopyTo(image.AsSpan(blknoAt + 16));
            BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(blknoAt + 32), owner);
            XfsChecksum.Update(image, crcAt);
        }
        fs.WriteForkRange(tx, mapped, logical, image);
    }

    private static int PutEntry(byte[] image, int p, ulong ino, ReadOnlySpan<byte> name, byte type, bool ftype)
    {
        int size = XfsDirData.EntrySize(name.Length, ftype);
        BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(p), ino);
        image[p + 8] = (byte)name.Length;
        name.CopyTo(image.AsSpan(p + 9));
        if (ftype)
        {
            image[p + 9 + name.Length] = type;
        }
        BinaryPrimitives.WriteUInt16BigEndian(image.AsSpan(p + size - 2), (ushort)p);
        return p + size;
    }

    private static void PutIno(Span<byte> s, ulong ino, int size)
    {
        if (size == 8)
        {
            BinaryPrimitives.WriteUInt64BigEndian(s, ino);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(s, (uint)ino);
        }
    }
}
