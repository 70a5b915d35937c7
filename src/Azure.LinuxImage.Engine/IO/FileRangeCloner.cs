using System.Runtime.InteropServices;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Engine.Disks.Raw;
using Microsoft.Win32.SafeHandles;

namespace Azure.LinuxImage.Engine.IO;

/// <summary>
/// Moves a disk's plain data ranges from the source file into the output without passing them
/// through user space: FICLONERANGE where the file system shares extents (XFS with reflink, btrfs:
/// the output's blocks become the source's, copy-on-write, so nothing is read or written), else
/// copy_file_range (an in-kernel copy; on NFS and some file systems a server-side copy). Raw and
/// fixed VHD sources, and the plain clusters of qcow2, VHDX, VDI and VMDK, are such ranges; a
/// chunk holding anything else (compressed clusters, parent data) is left to the caller's copy.
/// Linux only; needs no privilege. Each call tells whether the chunk was done.
/// </summary>
internal sealed partial class FileRangeCloner
{
    private const int Block = 4096;
    private const int EINVAL = 22;

    // _IOW(0x94, 13, struct file_clone_range): the ioctl that FICLONE's range variant is.
    private const ulong FICLONERANGE = 0x4020940D;

    private readonly IDiskImage source;
    private readonly SafeFileHandle output;
    private bool cloneWorks = true;
    private bool copyWorks = true;

    private FileRangeCloner(IDiskImage source, SafeFileHandle output)
    {
        this.source = source;
        this.output = output;
    }

    /// <summary>Bytes the file system shares or copied in the kernel.</summary>
    public long Cloned { get; private set; }

    public long Copied { get; private set; }

    [StructLayout(LayoutKind.Sequential)]
    private struct FileCloneRange
    {
        public long SourceFd;
        public ulong SourceOffset;
        public ulong SourceLength;
        public ulong DestinationOffset;
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int IoctlClone(int fd, ulong request, ref FileCloneRange range);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long Seek(int fd, long offset, int whence);

    private const int SEEK_HOLE = 4;

    [LibraryImport("libc", EntryPoint = "copy_file_range", SetLastError = true)]
    private static partial nint CopyFileRange(int fdIn, ref long offsetIn, int fdOut, ref long offsetOut, nuint length, uint flags);

    /// <summary>A cloner for this source, or null when its data cannot be mapped to a file or the platform has neither call.</summary>
    public static FileRangeCloner? TryCreate(IDiskImage source, SafeFileHandle output) =>
        OperatingSystem.IsLinux() && (source is RawDiskImage || source is IBlockMapper) ? new FileRangeCloner(source, output) : null;

    private IEnumerable<MappedRange> Map(long offset, int length)
    {
        if (source is RawDiskImage raw)
        {
            yield return new MappedRange(MappedKind.Data, length, raw.File, offset);
            yield break;
        }
        var mapper = (IBlockMapper)source;
        for (long done = 0; done < length;)
        {
            var range = mapper.Map(offset + done, length - done);
            if (range.Length <= 0)
            {
                throw new InvalidOperationException("A block map returned an empty range.");
            }
            yield return range;
            done += range.Length;
        }
    }

    /// <summary>
    /// Puts the chunk at <paramref name="offset"/> of the virtual disk into the output at the same
    /// offset, when every part of it is plain data in a file or zeros (the output's holes are
    /// zeros already). False, with nothing written, when the caller must copy it.
    /// </summary>
    public bool TryTransfer(long offset, int length)
    {
        if (!cloneWorks && !copyWorks)
        {
            return false;
        }
        var ranges = new List<(MappedRange Range, long Offset)>();
        long at = offset;
        foreach (var range in Map(offset, length))
        {
            if (range.Kind == MappedKind.Data ? range.File is null : range.Kind != MappedKind.Zero)
            {
                return false;
            }
            ranges.Add((range, at));
            at += range.Length;
        }
        // Neighbouring ranges contiguous in the same file go in one call.
        bool transferred = false;
        for (int i = 0; i < ranges.Count;)
        {
            var (first, start) = ranges[i];
            long runLength = first.Length;
            int j = i + 1;
            while (first.Kind == MappedKind.Data && j < ranges.Count && ranges[j].Range.Kind == MappedKind.Data
                && ranges[j].Range.File == first.File && ranges[j].Range.Host == first.Host + runLength)
            {
                runLength += ranges[j].Range.Length;
                j++;
            }
            if (first.Kind == MappedKind.Data && !Transfer(first.File!, first.Host, start, runLength))
            {
                if (!transferred)
                {
                    // Nothing of the chunk is in the output yet: the caller's copy, which skips zeros, does it.
                    return false;
                }
                // Part of the chunk may be cloned already, so the caller's copy, which skips
                // zeros, could leave stale bytes: the whole chunk is written here instead.
                Rewrite(offset, length);
                return true;
            }
            transferred |= first.Kind == MappedKind.Data;
            i = j;
        }
        return true;
    }

    private void Rewrite(long offset, int length)
    {
        byte[] buffer = new byte[length];
        source.ReadAt(offset, buffer);
        RandomAccess.Write(output, buffer, offset);
    }

    private bool Transfer(SourceFile file, long host, long target, long length)
    {
        bool inAdded = false;
        bool outAdded = false;
        try
        {
            file.Handle.DangerousAddRef(ref inAdded);
            output.DangerousAddRef(ref outAdded);
            int fdIn = (int)file.Handle.DangerousGetHandle();
            int fdOut = (int)output.DangerousGetHandle();
            // Clone the block-aligned middle (both offsets must share their alignment), copy the edges.
            if (cloneWorks && host % Block == target % Block)
            {
                long head = (Block - (target % Block)) % Block;
                long middle = (length - head) / Block * Block;
                if (middle > 0 && (head == 0 || Copy(fdIn, host, fdOut, target, head)))
                {
                    var range = new FileCloneRange { SourceFd = fdIn, SourceOffset = (ulong)(host + head), SourceLength = (ulong)middle, DestinationOffset = (ulong)(target + head) };
                    if (IoctlClone(fdOut, FICLONERANGE, ref range) == 0)
                    {
                        Cloned += middle;
                        long tail = length - head - middle;
                        return tail == 0 || Copy(fdIn, host + head + middle, fdOut, target + head + middle, tail);
                    }
                    // Not on this file system (EOPNOTSUPP, EXDEV, ENOTTY...): stop asking. EINVAL
                    // is about this range (a block size above 4 KiB): copy it, and keep trying.
                    cloneWorks = Marshal.GetLastPInvokeError() == EINVAL;
                }
            }
            return Copy(fdIn, host, fdOut, target, length);
        }
        finally
        {
            if (inAdded)
            {
                file.Handle.DangerousRelease();
            }
            if (outAdded)
            {
                output.DangerousRelease();
            }
        }
    }

    private bool Copy(int fdIn, long host, int fdOut, long target, long length)
    {
        if (!copyWorks)
        {
            return false;
        }
        // copy_file_range writes a source file's holes as allocated zeros (splice reads them): a
        // range with a hole is left to the caller's copy, which keeps the output sparse.
        long hole = Seek(fdIn, host, SEEK_HOLE);
        if (hole >= 0 && hole < host + length)
        {
            return false;
        }
        long inOffset = host;
        long outOffset = target;
        long left = length;
        while (left > 0)
        {
            nint n = CopyFileRange(fdIn, ref inOffset, fdOut, ref outOffset, (nuint)left, 0);
            if (n <= 0)
            {
                // ENOSYS, EXDEV, EINVAL, EOPNOTSUPP, or the source shorter than its map says: the
                // caller's copy reads and reports it properly. Its writes overwrite any part done here.
                copyWorks = n == 0;
                return false;
            }
            left -= n;
        }
        Copied += length;
        return true;
    }
}
