namespace Azure.LinuxImage.Engine.IO;

/// <summary>A window onto a parent volume: a partition or a logical volume segment.</summary>
public sealed class VolumeSlice : IWritableVolume
{
    private readonly IReadableVolume parent;
    private readonly long start;

    public VolumeSlice(IReadableVolume parent, long start, long length)
    {
        ArgumentNullException.ThrowIfNull(parent);
        if (start < 0 || length < 0 || start > parent.Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice {start}+{length} lies outside the parent volume of {parent.Length} bytes.");
        }
        this.parent = parent;
        this.start = start;
        Length = length;
    }

    public long Length { get; }

    public long Start => start;

    public void ReadAt(long offset, Span<byte> buffer)
    {
        this.CheckRange(offset, buffer.Length);
        parent.ReadAt(start + offset, buffer);
    }

    public void WriteAt(long offset, ReadOnlySpan<byte> data)
    {
        if (parent is not IWritableVolume writable)
        {
            throw new InvalidOperationException("The underlying volume is read-only.");
        }
        this.CheckRange(offset, data.Length);
        writable.WriteAt(start + offset, data);
    }
}
