using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// One allocation group held in memory while a change is prepared: its free extents (the bnobt's
/// records; the cntbt holds the same ones by size), reverse mappings, AGFL and, once asked for, its
/// inode btrees' records. Changes happen here only; <see cref="Commit"/> lays the trees out again
/// into their blocks (taking btree blocks from the AGFL and refilling or trimming it to the
/// kernel's minimum, as xfs_alloc_fix_freelist does), sets the AGF/AGI/AGFL fields and CRCs and
/// hands back the block images to write.
/// </summary>
internal sealed class XfsAgState
{
    private readonly XfsFileSystem fs;
    private readonly XfsSuperblock sb;
    private readonly byte[] agf, agi, agfl;
    private readonly List<uint> freeTreeBlocks; // bnobt + cntbt + rmapbt blocks (all owned by OWN_AG)
    private readonly int oldFreeTreeBlocks, oldFreeBlocks, oldFlcount;
    private List<XfsInodeChunk>? inobt, finobt;
    private List<uint>? inobtBlocks, finobtBlocks;
    private bool inodesChanged;

    public uint Agno { get; }

    public uint Length { get; }

    /// <summary>Free extents (start, length), sorted by start, never adjacent.</summary>
    public List<(uint Start, uint Length)> Free { get; }

    public XfsRmapSet? Rmaps { get; }

    public List<uint> Agfl { get; }

    public bool Changed { get; private set; }

    private uint A(int o) => BinaryPrimitives.ReadUInt32BigEndian(agf.AsSpan(o));

    private uint I(int o) => BinaryPrimitives.ReadUInt32BigEndian(agi.AsSpan(o));

    private bool HasRmap => (sb.FeaturesRoCompat & XfsSuperblock.RoCompatRmapbt) != 0;

    private bool HasFinobt => sb.IsV5 && (sb.FeaturesRoCompat & XfsSuperblock.RoCompatFinobt) != 0;

    private bool HasInobtCount => sb.IsV5 && (sb.FeaturesRoCompat & XfsSuperblock.RoCompatInobtCount) != 0;

    private bool Sparse => sb.IsV5 && (sb.FeaturesIncompat & XfsSuperblock.IncompatSparseInodes) != 0;

    private int AgflHeader => sb.IsV5 ? 36 : 0;

    private int AgflSize => (sb.SectorSize - AgflHeader) / 4;

    private long AgStart => (long)Agno * sb.AgBlocks * sb.BlockSize;

    public XfsAgState(XfsFileSystem fs, uint agno)
    {
        this.fs = fs;
        sb = fs.Superblock;
        Agno = agno;
        XfsAgHeaders.Read(fs, agno); // the checks made at open, again on what the overlay holds now
        Length = XfsAgHeaders.AgLength(sb, agno);
        agf = fs.ReadBytes(AgStart + sb.SectorSize, sb.SectorSize);
        agi = fs.ReadBytes(AgStart + (2L * sb.SectorSize), sb.SectorSize);
        agfl = fs.ReadBytes(AgStart + (3L * sb.SectorSize), sb.SectorSize);
        if (sb.IsV5 && (BinaryPrimitives.ReadUInt32BigEndian(agfl) != 0x5841464C || !XfsChecksum.Verify(agfl, 32)))
        {
            throw fs.Damaged($"the AGFL of allocation group {agno} has a wrong magic number or fails its checksum");
        }
        var (bnoRecords, bnoBlocks) = XfsAgBtree.Read(fs, agno, A(16), (int)A(28), XfsAgBtreeKind.Bno);
        var (cntRecords, cntBlocks) = XfsAgBtree.Read(fs, agno, A(20), (int)A(32), XfsAgBtreeKind.Cnt);
        Free = [];
        ulong total = 0;
        uint longest = 0;
        foreach (var r in bnoRecords)
        {
            uint start = BinaryPrimitives.ReadUInt32BigEndian(r), length = BinaryPrimitives.ReadUInt32BigEndian(r.AsSpan(4));
            if (length == 0 || start >= Length || length > Length - start || (Free.Count > 0 && Free[^1].Start + Free[^1].Length >= start))
            {
                throw fs.Damaged($"the free-space btree of allocation group {agno} has free extent {start}+{length} out of order, overlapping or outside the group");
            }
            Free.Add((start, length));
            total += length;
            longest = Math.Max(longest, length);
        }
        if (cntRecords.Count != bnoRecords.Count || total != A(52) || longest != A(56))
        {
            throw fs.Damaged($"the free-space btrees of allocation group {agno} disagree with each other or with the AGF ({total} free blocks in {Free.Count} extents)");
        }
        freeTreeBlocks = [.. bnoBlocks, .. cntBlocks];
        if (HasRmap)
        {
            var (rmapRecords, rmapBlocks) = XfsAgBtree.Read(fs, agno, A(24), (int)A(36), XfsAgBtreeKind.Rmap);
            Rmaps = new XfsRmapSet(fs, agno, [.. rmapRecords.Select(r => XfsRmap.Parse(r))]);
            freeTreeBlocks.AddRange(rmapBlocks);
        }
        Agfl = [];
        uint first = A(40), count = A(48);
        for (uint i = 0; i < count; i++)
        {
            uint b = BinaryPrimitives.ReadUInt32BigEndian(agfl.AsSpan(AgflHeader + (int)(((first + i) % (uint)AgflSize) * 4)));
            if (b == 0 || b >= Length)
            {
                throw fs.Damaged($"the AGFL of allocation group {agno} lists block {b}");
            }
            Agfl.Add(b);
        }
        oldFreeTreeBlocks = freeTreeBlocks.Count;
        oldFreeBlocks = (int)A(52);
        oldFlcount = (int)count;
    }

    // ---- Free space ----

    /// <summary>Takes up to <paramref name="want"/> blocks as one extent: right after <paramref name="near"/> if free there, else the smallest extent that holds them all, else the largest.</summary>
    public (uint Start, uint Length)? Allocate(uint want, uint? near)
    {
        if (want == 0 || Free.Count == 0)
        {
            return null;
        }
        int pick = near is uint n ? Free.FindIndex(f => f.Start == n) : -1;
        if (pick < 0)
        {
            for (int i = 0; i < Free.Count; i++)
            {
                if (Free[i].Length >= want && (pick < 0 || Free[i].Length < Free[pick].Length))
                {
                    pick = i;
                }
            }
        }
        if (pick < 0)
        {
            pick = 0;
            for (int i = 1; i < Free.Count; i++)
            {
                if (Free[i].Length > Free[pick].Length)
                {
                    pick = i;
                }
            }
        }
        var f = Free[pick];
        uint take = Math.Min(want, f.Length);
        if (take == f.Length)
        {
            Free.RemoveAt(pick);
        }
        else
        {
            Free[pick] = (f.Start + take, f.Length - take);
        }
        Changed = true;
        return (f.Start, take);
    }

    public void FreeExtent(uint start, uint length)
    {
        if (length == 0 || start >= Length || length > Length - start)
        {
            throw fs.Damaged($"blocks {Agno}/{start}+{length} lie outside their allocation group");
        }
        int i = 0;
        while (i < Free.Count && Free[i].Start < start)
        {
            i++;
        }
        bool joinLeft = i > 0 && Free[i - 1].Start + Free[i - 1].Length == start;
        bool joinRight = i < Free.Count && start + length == Free[i].Start;
        if ((i > 0 && Free[i - 1].Start + Free[i - 1].Length > start) || (i < Free.Count && start + length > Free[i].Start))
        {
            throw fs.Damaged($"blocks {Agno}/{start}+{length} are freed but already free");
        }
        if (joinLeft && joinRight)
        {
            Free[i - 1] = (Free[i - 1].Start, Free[i - 1].Length + length + Free[i].Length);
            Free.RemoveAt(i);
        }
        else if (joinLeft)
        {
            Free[i - 1] = (Free[i - 1].Start, Free[i - 1].Length + length);
        }
        else if (joinRight)
        {
            Free[i] = (start, length + Free[i].Length);
        }
        else
        {
            Free.Insert(i, (start, length));
        }
        Changed = true;
    }

    public bool IsFree(uint start, uint length) => Free.Exists(f => f.Start < start + length && start < f.Start + f.Length);

    // ---- Inode btrees ----

    public List<XfsInodeChunk> InodeChunks
    {
        get
        {
            if (inobt is null)
            {
                var (records, blocks) = XfsAgBtree.Read(fs, Agno, I(20), (int)I(24), XfsAgBtreeKind.Inobt);
                inobt = [.. records.Select(r => XfsInodeChunk.Parse(r, Sparse))];
                for (int i = 0; i < inobt.Count; i++)
                {
                    var c = inobt[i];
                    if (!c.Consistent || c.StartIno % (uint)Math.Min(XfsInodeChunk.InodesPerChunk, sb.InodesPerBlock) != 0 || (i > 0 && inobt[i - 1].StartIno >= c.StartIno) ||
                        (c.StartIno >> sb.InodesPerBlockLog) >= Length)
                    {
                        throw fs.Damaged($"the inode btree of allocation group {Agno} has a record for inodes from {c.StartIno} that is out of order, outside the group or disagrees with itself");
                    }
                }
                inobtBlocks = blocks;
                if (HasFinobt)
                {
                    var (frecords, fblocks) = XfsAgBtree.Read(fs, Agno, I(328), (int)I(332), XfsAgBtreeKind.Finobt);
                    finobt = [.. frecords.Select(r => XfsInodeChunk.Parse(r, Sparse))];
                    finobtBlocks = fblocks;
                }
            }
            return inobt;
        }
    }

    /// <summary>Replaces the inobt record of a chunk (and its finobt record: kept while the chunk has a free inode).</summary>
    public void UpdateChunk(XfsInodeChunk chunk)
    {
        var chunks = InodeChunks;
        int i = chunks.FindIndex(c => c.StartIno == chunk.StartIno);
        chunks[i] = chunk;
        if (finobt is not null)
        {
            int f = finobt.FindIndex(c => c.StartIno == chunk.StartIno);
            if (chunk.FreeCount == 0 && f >= 0)
            {
                finobt.RemoveAt(f);
            }
            else if (chunk.FreeCount > 0 && f >= 0)
            {
                finobt[f] = chunk;
            }
            else if (chunk.FreeCount > 0)
            {
                int at = finobt.FindIndex(c => c.StartIno > chunk.StartIno);
                finobt.Insert(at < 0 ? finobt.Count : at, chunk);
            }
        }
        inodesChanged = true;
        Changed = true;
    }

    public int FreeInodeDelta { get; set; }

    /// <summary>A new chunk of 64 free inodes in blocks just allocated for it (inobt and finobt records; AGI counts and newino).</summary>
    public void AddChunk(XfsInodeChunk chunk)
    {
        var chunks = InodeChunks;
        if (chunks.Exists(c => c.StartIno == chunk.StartIno))
        {
            throw fs.Damaged($"allocation group {Agno} already has an inode chunk at {chunk.StartIno}");
        }
        int at = chunks.FindIndex(c => c.StartIno > chunk.StartIno);
        chunks.Insert(at < 0 ? chunks.Count : at, chunk);
        if (finobt is not null)
        {
            int f = finobt.FindIndex(c => c.StartIno > chunk.StartIno);
            finobt.Insert(f < 0 ? finobt.Count : f, chunk);
        }
        newChunks++;
        Set(agi, 32, chunk.StartIno);
        inodesChanged = true;
        Changed = true;
    }

    private int newChunks;

    /// <summary>Takes <paramref name="count"/> free blocks starting at a multiple of <paramref name="align"/>, or null.</summary>
    public uint? AllocateAligned(uint count, uint align)
    {
        for (int i = 0; i < Free.Count; i++)
        {
            var (start, length) = Free[i];
            uint aligned = (start + align - 1) / align * align;
            if (aligned + count > start + length)
            {
                continue;
            }
            Free.RemoveAt(i);
            if (aligned + count < start + length)
            {
                Free.Insert(i, (aligned + count, start + length - aligned - count));
            }
            if (aligned > start)
            {
                Free.Insert(i, (start, aligned - start));
            }
            Changed = true;
            return aligned;
        }
        return null;
    }

    // ---- Commit ----

    private int MinFreelist(int bnoLevels, int cntLevels, int rmapLevels) =>
        Math.Min(bnoLevels + 1, 9) + Math.Min(cntLevels + 1, 9) + (HasRmap ? Math.Min(rmapLevels + 1, 9) : 0);

    /// <summary>Lays out every changed structure; returns (byte offset, bytes) writes and the change of the superblock's free-block count.</summary>
    public (List<(long Offset, byte[] Data)> Writes, long FreeBlocksDelta) Commit()
    {
        var writes = new List<(long, byte[])>();
        if (!Changed)
        {
            return (writes, 0);
        }
        if (inodesChanged)
        {
            // Inode btree blocks come from free space (not the AGFL) and are owned by OWN_INOBT.
            FitInodeTree(inobtBlocks!, XfsAgBtree.BlocksNeeded(sb, XfsAgBtreeKind.Inobt, inobt!.Count));
            if (finobt is not null)
            {
                FitInodeTree(finobtBlocks!, XfsAgBtree.BlocksNeeded(sb, XfsAgBtreeKind.Finobt, finobt.Count));
            }
        }

        // The free-space and reverse-mapping btrees take their blocks from the AGFL, and the AGFL is
        // refilled from (or trimmed into) free space, which changes those btrees again: to a fixed point.
        List<int> bnoShape = [], cntShape = [], rmapShape = [];
        for (int round = 0; ; round++)
        {
            if (round > 32)
            {
                throw fs.Damaged($"allocation group {Agno}: the free list does not settle");
            }
            bnoShape = XfsAgBtree.Shape(sb, XfsAgBtreeKind.Bno, Free.Count);
            cntShape = XfsAgBtree.Shape(sb, XfsAgBtreeKind.Cnt, Free.Count);
            rmapShape = Rmaps is null ? [] : XfsAgBtree.Shape(sb, XfsAgBtreeKind.Rmap, Rmaps.Records.Count);
            int need = bnoShape.Sum() + cntShape.Sum() + rmapShape.Sum();
            int target = MinFreelist(bnoShape.Count, cntShape.Count, rmapShape.Count);
            bool stable = freeTreeBlocks.Count == need && Agfl.Count == target;
            if (stable)
            {
                break;
            }
            while (freeTreeBlocks.Count > need)
            {
                // Btree blocks no longer needed go onto the free list, as xfs_alloc_put_freelist does.
                Agfl.Add(freeTreeBlocks[^1]);
                freeTreeBlocks.RemoveAt(freeTreeBlocks.Count - 1);
            }
            while (freeTreeBlocks.Count < need)
            {
                if (Agfl.Count == 0)
                {
                    RefillAgfl(1);
                }
                freeTreeBlocks.Add(Agfl[0]);
                Agfl.RemoveAt(0);
            }
            while (Agfl.Count > target)
            {
                uint b = Agfl[^1];
                Agfl.RemoveAt(Agfl.Count - 1);
                FreeExtent(b, 1);
                Rmaps?.Remove(b, 1, XfsRmap.OwnAg);
            }
            if (Agfl.Count < target)
            {
                RefillAgfl(target - Agfl.Count);
            }
        }
        if (Agfl.Count > AgflSize)
        {
            throw fs.Damaged($"allocation group {Agno}: the free list would need {Agfl.Count} of {AgflSize} slots");
        }

        freeTreeBlocks.Sort();
        int nb = bnoShape.Sum(), nc = cntShape.Sum();
        var bnoRecords = Free.Select(f => AllocRecord(f.Start, f.Length)).ToList();
        var cntRecords = Free.OrderBy(f => f.Length).ThenBy(f => f.Start).Select(f => AllocRecord(f.Start, f.Length)).ToList();
        var bno = XfsAgBtree.Build(fs, Agno, XfsAgBtreeKind.Bno, bnoRecords, freeTreeBlocks.GetRange(0, nb));
        var cnt = XfsAgBtree.Build(fs, Agno, XfsAgBtreeKind.Cnt, cntRecords, freeTreeBlocks.GetRange(nb, nc));
        var images = new List<(uint Block, byte[] Image)>([.. bno.Images, .. cnt.Images]);
        Set(agf, 16, bno.Root);
        Set(agf, 28, (uint)bno.Levels);
        Set(agf, 20, cnt.Root);
        Set(agf, 32, (uint)cnt.Levels);
        if (Rmaps is not null)
        {
            var rmap = XfsAgBtree.Build(fs, Agno, XfsAgBtreeKind.Rmap, [.. Rmaps.Records.Select(r => r.ToRecord())], freeTreeBlocks.GetRange(nb + nc, freeTreeBlocks.Count - nb - nc));
            images.AddRange(rmap.Images);
            Set(agf, 24, rmap.Root);
            Set(agf, 36, (uint)rmap.Levels);
            Set(agf, 80, (uint)rmapShape.Sum());
        }
        uint freeBlocks = (uint)Free.Sum(f => (long)f.Length);
        Set(agf, 52, freeBlocks);
        Set(agf, 56, Free.Count == 0 ? 0 : Free.Max(f => f.Length));
        Set(agf, 60, (uint)((int)A(60) + freeTreeBlocks.Count - oldFreeTreeBlocks));
        Set(agf, 40, 0);
        Set(agf, 44, Agfl.Count == 0 ? (uint)AgflSize - 1 : (uint)Agfl.Count - 1);
        Set(agf, 48, (uint)Agfl.Count);
        for (int i = 0; i < AgflSize; i++)
        {
            Set(agfl, AgflHeader + (i * 4), i < Agfl.Count ? Agfl[i] : XfsAgBtree.NullBlock);
        }
        if (sb.IsV5)
        {
            XfsChecksum.Update(agf, XfsAgHeaders.AgfCrcOffset);
            XfsChecksum.Update(agfl, 32);
        }
        writes.Add((AgStart + sb.SectorSize, agf));
        writes.Add((AgStart + (3L * sb.SectorSize), agfl));

        if (inodesChanged)
        {
            var ino = XfsAgBtree.Build(fs, Agno, XfsAgBtreeKind.Inobt, [.. inobt!.Select(c => c.ToRecord(Sparse))], inobtBlocks!);
            images.AddRange(ino.Images);
            Set(agi, 20, ino.Root);
            Set(agi, 24, (uint)ino.Levels);
            Set(agi, 16, I(16) + (uint)(newChunks * XfsInodeChunk.InodesPerChunk));
            if (HasInobtCount)
            {
                Set(agi, 336, (uint)inobtBlocks!.Count);
            }
            if (finobt is not null)
            {
                var fino = XfsAgBtree.Build(fs, Agno, XfsAgBtreeKind.Finobt, [.. finobt.Select(c => c.ToRecord(Sparse))], finobtBlocks!);
                images.AddRange(fino.Images);
                Set(agi, 328, fino.Root);
                Set(agi, 332, (uint)fino.Levels);
                if (HasInobtCount)
                {
                    Set(agi, 340, (uint)finobtBlocks!.Count);
                }
            }
        }
        if (FreeInodeDelta != 0)
        {
            Set(agi, 28, (uint)((int)I(28) + FreeInodeDelta));
        }
        if (inodesChanged || FreeInodeDelta != 0)
        {
            if (sb.IsV5)
            {
                XfsChecksum.Update(agi, XfsAgHeaders.AgiCrcOffset);
            }
            writes.Add((AgStart + (2L * sb.SectorSize), agi));
        }
        foreach (var (block, image) in images)
        {
            writes.Add(((((long)Agno * sb.AgBlocks) + block) * sb.BlockSize, image));
        }
        long delta = ((long)freeBlocks + Agfl.Count + freeTreeBlocks.Count) - ((long)oldFreeBlocks + oldFlcount + oldFreeTreeBlocks);
        return (writes, delta);
    }

    private void FitInodeTree(List<uint> blocks, int need)
    {
        while (blocks.Count < need)
        {
            var got = Allocate(1, null) ?? throw new LinuxImageException(DiagnosticCatalog.XfsNoSpace, fs.Source, fs.Source, $"allocation group {Agno}", "an inode btree block");
            Rmaps?.Add(got.Start, 1, XfsRmap.OwnInobt, 0);
            blocks.Add(got.Start);
        }
        while (blocks.Count > need)
        {
            uint b = blocks[^1];
            blocks.RemoveAt(blocks.Count - 1);
            FreeExtent(b, 1);
            Rmaps?.Remove(b, 1, XfsRmap.OwnInobt);
        }
        blocks.Sort();
    }

    private void RefillAgfl(int count)
    {
        while (count > 0)
        {
            var got = Allocate((uint)count, null) ?? throw new LinuxImageException(DiagnosticCatalog.XfsNoSpace, fs.Source, fs.Source, $"allocation group {Agno}", "the free list the free-space btrees draw on");
            Rmaps?.Add(got.Start, got.Length, XfsRmap.OwnAg, 0);
            for (uint b = 0; b < got.Length; b++)
            {
                Agfl.Add(got.Start + b);
            }
            count -= (int)got.Length;
        }
    }

    private static byte[] AllocRecord(uint start, uint length)
    {
        var r = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(r, start);
        BinaryPrimitives.WriteUInt32BigEndian(r.AsSpan(4), length);
        return r;
    }

    private static void Set(byte[] buffer, int offset, uint value) => BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(offset), value);
}
