using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Volumes;

/// <summary>Volumes laid end to end: a linear logical volume made of several segments.</summary>
public sealed class ConcatenatedVolume : IWritableVolume
{
    private readonly IReadableVolume[] parts;
    private readonly long[] starts;

    public ConcatenatedVolume(IReadOnlyList<IReadableVolume> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        this.parts = [.. parts];
        starts = new long[this.parts.Length];
        long at = 0;
        for (int i = 0; i < this.parts.Length; i++)
        {
            starts[i] = at;
            at = checked(at + this.parts[i].Length);
        }
        Length = at;
    }

    public long Length { get; }

    private int PartAt(long offset)
    {
        int i = Array.BinarySearch(starts, offset);
        return i >= 0 ? i : ~i - 1;
    }

    public void ReadAt(long offset, Span<byte> buffer)
    {
        this.CheckRange(offset, buffer.Length);
        while (!buffer.IsEmpty)
        {
            int i = PartAt(offset);
            long inPart = offset - starts[i];
            int n = (int)Math.Min(buffer.Length, parts[i].Length - inPart);
            if (n == 0)
            {
                i++;
                continue;
            }
            parts[i].ReadAt(inPart, buffer[..n]);
            buffer = buffer[n..];
            offset += n;
        }
    }

    public void WriteAt(long offset, ReadOnlySpan<byte> data)
    {
        this.CheckRange(offset, data.Length);
        while (!data.IsEmpty)
        {
            int i = PartAt(offset);
            long inPart = offset - starts[i];
            int n = (int)Math.Min(data.Length, parts[i].Length - inPart);
            if (parts[i] is not IWritableVolume writable)
            {
                throw new InvalidOperationException("The underlying volume is read-only.");
            }
            writable.WriteAt(inPart, data[..n]);
            data = data[n..];
            offset += n;
        }
    }
}
