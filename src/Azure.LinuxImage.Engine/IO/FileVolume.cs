using Microsoft.Win32.SafeHandles;

namespace Azure.LinuxImage.Engine.IO;

/// <summary>A window [0, length) of a file as a volume: the data part of a fixed VHD, or a raw image.</summary>
public sealed class FileVolume : IWritableVolume, IDisposable
{
    private readonly SafeFileHandle handle;
    private readonly bool writable;

    private FileVolume(SafeFileHandle handle, long length, bool writable)
    {
        this.handle = handle;
        this.writable = writable;
        Length = length;
    }

    public long Length { get; }

    public static FileVolume OpenRead(string path, long? length = null)
    {
        var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new FileVolume(h, length ?? RandomAccess.GetLength(h), writable: false);
    }

    public static FileVolume OpenReadWrite(string path, long? length = null)
    {
        var h = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        return new FileVolume(h, length ?? RandomAccess.GetLength(h), writable: true);
    }

    public void ReadAt(long offset, Span<byte> buffer)
    {
        this.CheckRange(offset, buffer.Length);
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(handle, buffer[done..], offset + done);
            if (n <= 0)
            {
                // Past the file's end inside the volume: a sparse tail that was never extended reads as zeros.
                buffer[done..].Clear();
                return;
            }
            done += n;
        }
    }

    public void WriteAt(long offset, ReadOnlySpan<byte> data)
    {
        if (!writable)
        {
            throw new InvalidOperationException("The volume was opened read-only.");
        }
        this.CheckRange(offset, data.Length);
        RandomAccess.Write(handle, data, offset);
    }

    public void Flush() => RandomAccess.FlushToDisk(handle);

    /// <summary>
    /// Starts flushing what is already written while the caller goes on computing: the conversion
    /// leaves the whole image dirty in the page cache, and writing it back was most of the patch
    /// step's wall time when it waited for the patch's own fsync.
    /// </summary>
    public Task FlushInBackground() => Task.Run(Flush);

    public void Dispose() => handle.Dispose();
}
