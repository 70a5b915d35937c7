namespace Azure.LinuxImage.Engine.Disks;

/// <summary>A range of the virtual disk that may hold non-zero data. Bytes outside every extent read as zero.</summary>
public readonly record struct DiskExtent(long Offset, long Length)
{
    public long End => Offset + Length;
}
