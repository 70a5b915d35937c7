using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Azure.LinuxImage.Engine.IO;

/// <summary>
/// Hole awareness: on Linux, lseek(SEEK_DATA / SEEK_HOLE) tells which parts of a sparse file hold
/// data, so a mostly-empty multi-GiB disk is read in proportion to its data, not its size. Where the
/// call is unavailable the whole range is reported as data, which is correct, only slower.
/// </summary>
public static partial class SparseFiles
{
    private const int SeekData = 3;
    private const int SeekHole = 4;

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long LSeek(int fd, long offset, int whence);

    public static IEnumerable<(long Offset, long Length)> DataRanges(SafeFileHandle handle, long start, long end)
    {
        if (start >= end)
        {
            yield break;
        }
        if (!OperatingSystem.IsLinux())
        {
            yield return (start, end - start);
            yield break;
        }
        long position = start;
        while (position < end)
        {
            long dataStart;
            long holeStart;
            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                int fd = (int)handle.DangerousGetHandle();
                dataStart = LSeek(fd, position, SeekData);
                if (dataStart < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    const int ENXIO = 6;
                    if (errno == ENXIO)
                    {
                        yield break; // only a hole remains
                    }
                    dataStart = position;
                    holeStart = end; // unsupported file system: treat everything as data
                }
                else
                {
                    holeStart = LSeek(fd, dataStart, SeekHole);
                    if (holeStart < 0)
                    {
                        holeStart = end;
                    }
                }
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
            if (dataStart >= end)
            {
                yield break;
            }
            long stop = Math.Min(holeStart, end);
            if (stop > dataStart)
            {
                yield return (dataStart, stop - dataStart);
            }
            position = Math.Max(stop, dataStart + 1);
        }
    }
}
