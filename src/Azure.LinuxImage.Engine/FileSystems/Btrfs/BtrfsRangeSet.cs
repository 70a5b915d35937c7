namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>Disjoint, merged byte ranges (free space of a block group), ordered by start.</summary>
internal sealed class BtrfsRangeSet
{
    private readonly List<(ulong Start, ulong Length)> ranges = [];

    public IReadOnlyList<(ulong Start, ulong Length)> Ranges => ranges;

    public ulong Total
    {
        get
        {
            ulong total = 0;
            foreach (var r in ranges)
            {
                total += r.Length;
            }
            return total;
        }
    }

    public BtrfsRangeSet Clone()
    {
        var copy = new BtrfsRangeSet();
        copy.ranges.AddRange(ranges);
        return copy;
    }

    /// <summary>Adds a range; false when it overlaps one already there (the caller's accounting is wrong).</summary>
    public bool Add(ulong start, ulong length)
    {
        if (length == 0)
        {
            return true;
        }
        int i = FirstEndingAfter(start);
        if (i < ranges.Count && ranges[i].Start < start + length)
        {
            return false;
        }
        ulong end = start + length;
        if (i > 0 && ranges[i - 1].Start + ranges[i - 1].Length == start)
        {
            i--;
            start = ranges[i].Start;
            ranges.RemoveAt(i);
        }
        if (i < ranges.Count && ranges[i].Start == end)
        {
            end = ranges[i].Start + ranges[i].Length;
            ranges.RemoveAt(i);
        }
        ranges.Insert(i, (start, end - start));
        return true;
    }

    /// <summary>Takes a range out; false when part of it is not in the set.</summary>
    public bool Remove(ulong start, ulong length)
    {
        if (length == 0)
        {
            return true;
        }
        int i = FirstEndingAfter(start);
        if (i >= ranges.Count || ranges[i].Start > start || ranges[i].Start + ranges[i].Length < start + length)
        {
            return false;
        }
        var r = ranges[i];
        ranges.RemoveAt(i);
        ulong end = start + length;
        ulong rEnd = r.Start + r.Length;
        if (end < rEnd)
        {
            ranges.Insert(i, (end, rEnd - end));
        }
        if (r.Start < start)
        {
            ranges.Insert(i, (r.Start, start - r.Start));
        }
        return true;
    }

    /// <summary>Removes every part of [start, start+length) that is in the set.</summary>
    public void Exclude(ulong start, ulong length)
    {
        ulong end = start + length;
        for (int i = ranges.Count - 1; i >= 0; i--)
        {
            var r = ranges[i];
            ulong rEnd = r.Start + r.Length;
            if (rEnd <= start || r.Start >= end)
            {
                continue;
            }
            ranges.RemoveAt(i);
            if (end < rEnd)
            {
                ranges.Insert(i, (end, rEnd - end));
            }
            if (r.Start < start)
            {
                ranges.Insert(i, (r.Start, start - r.Start));
            }
        }
    }

    /// <summary>The lowest <paramref name="align"/>-aligned start of <paramref name="length"/> free bytes, or null.</summary>
    public ulong? FindFit(ulong length, ulong align)
    {
        foreach (var (start, len) in ranges)
        {
            ulong aligned = (start + align - 1) / align * align;
            if (aligned - start <= len && len - (aligned - start) >= length)
            {
                return aligned;
            }
        }
        return null;
    }

    /// <summary>The largest range, for a data write that must be split over several extents.</summary>
    public (ulong Start, ulong Length)? Largest()
    {
        (ulong, ulong)? best = null;
        foreach (var r in ranges)
        {
            if (best is null || r.Length > best.Value.Item2)
            {
                best = r;
            }
        }
        return best;
    }

    private int FirstEndingAfter(ulong start)
    {
        int lo = 0;
        int hi = ranges.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (ranges[mid].Start + ranges[mid].Length <= start)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }
}
