namespace Azure.LinuxImage.Engine.Disks;

public static class DiskExtents
{
    /// <summary>Merges adjacent extents of an ascending sequence.</summary>
    public static IEnumerable<DiskExtent> Coalesce(IEnumerable<DiskExtent> ascending)
    {
        DiskExtent? pending = null;
        foreach (var e in ascending)
        {
            if (e.Length <= 0)
            {
                continue;
            }
            if (pending is { } p && e.Offset <= p.End)
            {
                pending = new DiskExtent(p.Offset, Math.Max(p.End, e.End) - p.Offset);
                continue;
            }
            if (pending is { } done)
            {
                yield return done;
            }
            pending = e;
        }
        if (pending is { } last)
        {
            yield return last;
        }
    }

    /// <summary>The union of two ascending sequences (a child disk's own data over its parent's).</summary>
    public static IEnumerable<DiskExtent> Union(IEnumerable<DiskExtent> a, IEnumerable<DiskExtent> b) =>
        Coalesce(Merge(a, b));

    /// <summary>Clips an ascending sequence to [0, length).</summary>
    public static IEnumerable<DiskExtent> Clip(IEnumerable<DiskExtent> extents, long length)
    {
        foreach (var e in extents)
        {
            if (e.Offset >= length)
            {
                yield break;
            }
            yield return e.End > length ? new DiskExtent(e.Offset, length - e.Offset) : e;
        }
    }

    private static IEnumerable<DiskExtent> Merge(IEnumerable<DiskExtent> a, IEnumerable<DiskExtent> b)
    {
        using var ea = a.GetEnumerator();
        using var eb = b.GetEnumerator();
        bool hasA = ea.MoveNext();
        bool hasB = eb.MoveNext();
        while (hasA || hasB)
        {
            if (hasA && (!hasB || ea.Current.Offset <= eb.Current.Offset))
            {
                yield return ea.Current;
                hasA = ea.MoveNext();
            }
            else
            {
                yield return eb.Current;
                hasB = eb.MoveNext();
            }
        }
    }
}
