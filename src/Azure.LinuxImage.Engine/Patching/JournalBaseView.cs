using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Patching;

/// <summary>The unpatched image: the patched output with the journal's original bytes laid back over it.</summary>
public sealed class JournalBaseView : IReadableVolume
{
    private readonly IReadableVolume image;
    private readonly IReadOnlyList<(long Offset, byte[] Original)> ranges;

    public JournalBaseView(IReadableVolume image, PatchJournal? journal)
    {
        this.image = image;
        ranges = journal?.Ranges ?? [];
    }

    public long Length => image.Length;

    public void ReadAt(long offset, Span<byte> buffer)
    {
        image.ReadAt(offset, buffer);
        long end = offset + buffer.Length;
        foreach (var (start, original) in ranges)
        {
            long rangeEnd = start + original.Length;
            if (rangeEnd <= offset || start >= end)
            {
                continue;
            }
            long from = Math.Max(start, offset);
            long to = Math.Min(rangeEnd, end);
            original.AsSpan((int)(from - start), (int)(to - from)).CopyTo(buffer[(int)(from - offset)..]);
        }
    }
}
