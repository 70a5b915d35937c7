using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Raw;

/// <summary>
/// A disk stored byte for byte, optionally a window of a file (a fixed VHD is a raw disk followed by
/// its footer). Holes in the file are reported as unallocated.
/// </summary>
public sealed class RawDiskImage : IDiskImage
{
    private readonly SourceFile file;

    public RawDiskImage(SourceFile file)
        : this(file, file.Length, DiskFormat.Raw, [])
    {
    }

    public RawDiskImage(SourceFile file, long length, DiskFormat format, IReadOnlyList<Diagnostic> warnings)
    {
        if (length < 0 || length > file.Length)
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskTruncated, file.Path, file.Path,
                $"the disk's data ({length} bytes) does not fit in the file ({file.Length} bytes)");
        }
        this.file = file;
        Length = length;
        Format = format;
        Warnings = warnings;
    }

    public DiskFormat Format { get; }

    public string Path => file.Path;

    public long Length { get; }

    public IReadOnlyList<Diagnostic> Warnings { get; }

    public IReadOnlyList<string> Files => [file.Path];

    /// <summary>The file that holds the disk byte for byte (for cloning its ranges).</summary>
    internal SourceFile File => file;

    public void ReadAt(long offset, Span<byte> buffer)
    {
        this.CheckRange(offset, buffer.Length);
        file.ReadExactly(offset, buffer, "disk data");
    }

    public IEnumerable<DiskExtent> GetAllocatedExtents() =>
        file.DataRanges(0, Length).Select(r => new DiskExtent(r.Offset, r.Length));

    public void Dispose() => file.Dispose();
}
