using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// One reverse mapping (xfs_rmap_rec): AG blocks, their owner (an inode or a special owner such
/// as the AG's own btrees) and, for inode data, the fork offset with the fork, bmbt-block and
/// unwritten flags in its top bits.
/// </summary>
internal readonly record struct XfsRmap(uint Start, uint Length, ulong Owner, ulong Offset)
{
    public const ulong FlagAttr = 1UL << 63, FlagBmbt = 1UL << 62, FlagUnwritten = 1UL << 61, OffsetMask = (1UL << 54) - 1;
    public const ulong OwnAg = unchecked((ulong)-5), OwnInobt = unchecked((ulong)-6), OwnInodes = unchecked((ulong)-7);

    public static bool IsSpecialOwner(ulong owner) => (owner & (1UL << 63)) != 0;

    public ulong Flags => Offset & ~OffsetMask;

    /// <summary>Whether fork offsets follow physical blocks (inode data, not btree blocks or special owners).</summary>
    public bool HasOffset => !IsSpecialOwner(Owner) && (Offset & FlagBmbt) == 0;

    public static XfsRmap Parse(ReadOnlySpan<byte> r) => new(
        BinaryPrimitives.ReadUInt32BigEndian(r), BinaryPrimitives.ReadUInt32BigEndian(r[4..]),
        BinaryPrimitives.ReadUInt64BigEndian(r[8..]), BinaryPrimitives.ReadUInt64BigEndian(r[16..]));

    public byte[] ToRecord()
    {
        var r = new byte[24];
        BinaryPrimitives.WriteUInt32BigEndian(r, Start);
        BinaryPrimitives.WriteUInt32BigEndian(r.AsSpan(4), Length);
        BinaryPrimitives.WriteUInt64BigEndian(r.AsSpan(8), Owner);
        BinaryPrimitives.WriteUInt64BigEndian(r.AsSpan(16), Offset);
        return r;
    }

    /// <summary>The rmapbt's order: start block, owner, offset (flags aside).</summary>
    public static int Compare(XfsRmap a, XfsRmap b)
    {
        int c = a.Start.CompareTo(b.Start);
        if (c == 0)
        {
            c = a.Owner.CompareTo(b.Owner);
        }
        return c != 0 ? c : (a.Offset & OffsetMask).CompareTo(b.Offset & OffsetMask);
    }

    /// <summary>Whether <paramref name="right"/> continues this mapping, as the kernel merges them (xfs_rmap_is_mergeable).</summary>
    public bool Continues(XfsRmap right) =>
        Owner == right.Owner && Flags == right.Flags && Start + Length == right.Start &&
        (!HasOffset || (Offset & OffsetMask) + Length == (right.Offset & OffsetMask));
}

/// <summary>
/// The reverse mappings of one AG held in memory while a change is prepared; kept merged as the
/// kernel keeps them (xfs_repair compares each observed mapping with the record covering it).
/// </summary>
internal sealed class XfsRmapSet(XfsFileSystem fs, uint agno, List<XfsRmap> records)
{
    public List<XfsRmap> Records { get; } = records;

    public void Add(uint start, uint length, ulong owner, ulong offset)
    {
        var add = new XfsRmap(start, length, owner, XfsRmap.IsSpecialOwner(owner) ? 0 : offset);
        int i = Records.FindIndex(r => r.Continues(add));
        if (i >= 0)
        {
            var left = Records[i];
            Records.RemoveAt(i);
            add = left with { Length = left.Length + add.Length };
        }
        int j = Records.FindIndex(r => add.Continues(r));
        if (j >= 0)
        {
            var right = Records[j];
            Records.RemoveAt(j);
            add = add with { Length = add.Length + right.Length };
        }
        int at = Records.BinarySearch(add, Comparer<XfsRmap>.Create(XfsRmap.Compare));
        Records.Insert(at < 0 ? ~at : at, add);
    }

    /// <summary>Removes the mapping of <paramref name="length"/> blocks from <paramref name="start"/> owned by <paramref name="owner"/>, splitting the record that holds it.</summary>
    public void Remove(uint start, uint length, ulong owner)
    {
        int i = Records.FindIndex(r => r.Owner == owner && r.Start <= start && start + length <= r.Start + r.Length);
        if (i < 0)
        {
            throw fs.Damaged($"allocation group {agno} has no reverse mapping of blocks {start}+{length} to owner {(long)owner}");
        }
        var r = Records[i];
        Records.RemoveAt(i);
        var pieces = new List<XfsRmap>();
        if (r.Start < start)
        {
            pieces.Add(r with { Length = start - r.Start });
        }
        uint end = start + length, rEnd = r.Start + r.Length;
        if (end < rEnd)
        {
            pieces.Add(r with { Start = end, Length = rEnd - end, Offset = r.HasOffset ? r.Offset + (end - r.Start) : r.Offset });
        }
        foreach (var p in pieces)
        {
            int at = Records.BinarySearch(p, Comparer<XfsRmap>.Create(XfsRmap.Compare));
            Records.Insert(at < 0 ? ~at : at, p);
        }
    }
}
