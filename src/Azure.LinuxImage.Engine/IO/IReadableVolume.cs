namespace Azure.LinuxImage.Engine.IO;

/// <summary>
/// A byte-addressed, read-only view of a disk or of a part of one (a partition, a logical volume).
/// Every layer above the disk formats reads through this, so a file system never knows whether it
/// sits on a raw file, a qcow2 chain or an LVM segment.
/// </summary>
public interface IReadableVolume
{
    long Length { get; }

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/>; the range must lie inside the volume.</summary>
    void ReadAt(long offset, Span<byte> buffer);
}

/// <summary>A volume that also takes writes (in this product, always into an overlay, never the source).</summary>
public interface IWritableVolume : IReadableVolume
{
    void WriteAt(long offset, ReadOnlySpan<byte> data);
}

public static class VolumeExtensions
{
    public static void CheckRange(this IReadableVolume volume, long offset, int count)
    {
        if (offset < 0 || count < 0 || offset > volume.Length - count)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Range {offset}+{count} lies outside the volume of {volume.Length} bytes.");
        }
    }

    public static byte[] ReadBytes(this IReadableVolume volume, long offset, int count)
    {
        var buffer = new byte[count];
        volume.ReadAt(offset, buffer);
        return buffer;
    }
}
