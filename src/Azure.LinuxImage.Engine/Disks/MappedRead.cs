using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks;

internal enum MappedKind
{
    Zero,
    Parent,
    Data,
    Special,
}

/// <summary>
/// Where one guest range of a sparse format lives: zeros, the parent disk, plain bytes at
/// <see cref="Host"/> in <see cref="File"/>, or something the reader decodes itself (a compressed
/// cluster or grain, identified by <see cref="Tag"/>).
/// </summary>
internal readonly record struct MappedRange(MappedKind Kind, long Length, SourceFile? File = null, long Host = 0, ulong Tag = 0);

/// <summary>A sparse format's block map, seen one guest range at a time.</summary>
internal interface IBlockMapper
{
    /// <summary>Maps the range at <paramref name="offset"/>: at least one byte, at most <paramref name="max"/>.</summary>
    MappedRange Map(long offset, long max);

    void ReadParent(long offset, Span<byte> target);

    void ReadSpecial(MappedRange range, long offset, Span<byte> target);
}

internal static class MappedRead
{
    /// <summary>
    /// Reads through a block map, merging neighbouring ranges of the same kind (and, for data,
    /// contiguous in the same file) so that a freshly converted image is read in a few large reads
    /// rather than one per cluster.
    /// </summary>
    public static void Read(IBlockMapper mapper, long offset, Span<byte> buffer)
    {
        var pending = default(MappedRange);
        int pendingStart = 0;
        int pendingLength = 0;
        int done = 0;
        while (done < buffer.Length)
        {
            var range = mapper.Map(offset + done, buffer.Length - done);
            int n = (int)range.Length;
            if (n <= 0)
            {
                throw new InvalidOperationException("A block map returned an empty range.");
            }
            bool extends = pendingLength > 0 && range.Kind == pending.Kind && range.Kind != MappedKind.Special
                && (range.Kind != MappedKind.Data || (range.File == pending.File && range.Host == pending.Host + pendingLength));
            if (extends)
            {
                pendingLength += n;
            }
            else
            {
                Flush(mapper, pending, offset + pendingStart, buffer.Slice(pendingStart, pendingLength));
                pending = range;
                pendingStart = done;
                pendingLength = n;
            }
            done += n;
        }
        Flush(mapper, pending, offset + pendingStart, buffer.Slice(pendingStart, pendingLength));
    }

    private static void Flush(IBlockMapper mapper, MappedRange range, long offset, Span<byte> target)
    {
        if (target.IsEmpty)
        {
            return;
        }
        switch (range.Kind)
        {
            case MappedKind.Zero:
                target.Clear();
                break;
            case MappedKind.Parent:
                mapper.ReadParent(offset, target);
                break;
            case MappedKind.Data:
                range.File!.ReadExactly(range.Host, target, "disk data");
                break;
            default:
                mapper.ReadSpecial(range, offset, target);
                break;
        }
    }

    /// <summary>Reads a parent that may be shorter than the child: the rest reads as zeros.</summary>
    public static void ReadClipped(IDiskImage? parent, long offset, Span<byte> target)
    {
        long available = parent is null ? 0 : Math.Clamp(parent.Length - offset, 0, target.Length);
        if (available > 0)
        {
            parent!.ReadAt(offset, target[..(int)available]);
        }
        target[(int)available..].Clear();
    }
}
