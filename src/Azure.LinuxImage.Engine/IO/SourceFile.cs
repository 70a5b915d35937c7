using Azure.LinuxImage.Engine.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace Azure.LinuxImage.Engine.IO;

/// <summary>
/// A file opened strictly for reading, with positional reads that are safe from several threads.
/// Every disk format reads its container through this, so a short read is always reported as a
/// truncated file with the file's name rather than surfacing as garbage.
/// </summary>
public sealed class SourceFile : IDisposable
{
    private readonly SafeFileHandle handle;

    private SourceFile(string path, SafeFileHandle handle, long length)
    {
        Path = path;
        this.handle = handle;
        Length = length;
    }

    public string Path { get; }

    public long Length { get; }

    internal SafeFileHandle Handle => handle;

    public static SourceFile Open(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new LinuxImageException(DiagnosticCatalog.SourceDiskIsDirectory, full, full);
        }
        if (!File.Exists(full))
        {
            throw new LinuxImageException(DiagnosticCatalog.SourceDiskMissing, full, full);
        }
        // Decided before opening: opening a named pipe blocks until something writes to it, and a
        // parent or extent name in a crafted image may point at one. Pipes, devices and empty files
        // all have no length, and no disk image is empty.
        if (new FileInfo(full).Length == 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.UnknownDiskFormat, full, full, "the file is empty (or not a regular file)");
        }
        try
        {
            // FileShare.ReadWrite: a hypervisor may hold the disk open; we only read.
            var handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.RandomAccess);
            return new SourceFile(full, handle, RandomAccess.GetLength(handle));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LinuxImageException(DiagnosticCatalog.SourceDiskUnreadable, full, e, full, e.Message);
        }
    }

    /// <summary>Reads exactly <c>buffer.Length</c> bytes or reports the file as truncated.</summary>
    public void ReadExactly(long offset, Span<byte> buffer, string what)
    {
        if (offset < 0 || offset > Length - buffer.Length)
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskTruncated, Path, Path,
                $"{what} at offset {offset} ({buffer.Length} bytes) lies beyond the end of the file ({Length} bytes)");
        }
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(handle, buffer[done..], offset + done);
            if (n <= 0)
            {
                throw new LinuxImageException(DiagnosticCatalog.DiskTruncated, Path, Path, $"{what} at offset {offset + done} could not be read");
            }
            done += n;
        }
    }

    /// <summary>The ranges of the file that hold data (not holes), in order.</summary>
    public IEnumerable<(long Offset, long Length)> DataRanges(long start, long end) => SparseFiles.DataRanges(handle, start, Math.Min(end, Length));

    public void Dispose() => handle.Dispose();
}
