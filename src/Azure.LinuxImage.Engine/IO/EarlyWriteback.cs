using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Azure.LinuxImage.Engine.IO;

/// <summary>
/// Starts the write-back of an output file's written pages while later ones are still being
/// written (sync_file_range with SYNC_FILE_RANGE_WRITE: submit, do not wait). Without it the
/// kernel holds back gigabytes of a conversion as dirty pages and writes them in one burst when
/// the patch step asks for durability, which then waits for all of them; with it the disk works
/// alongside the copy, as it does for a tool that writes with O_DIRECT or syncs as it goes.
/// Submitting can block once the device's queue is full, so it runs on its own thread and the copy
/// never waits for it. It is only a hint: durability still comes from the patch step's fsync, and
/// write-back errors are reported there (SYNC_FILE_RANGE_WRITE alone does not collect them).
/// The thread holds a reference on the handle, so the file stays open until its last call even
/// when the caller has closed its handle; no second descriptor exists for a child process to inherit.
/// </summary>
internal sealed partial class EarlyWriteback : IDisposable
{
    private const uint SYNC_FILE_RANGE_WRITE = 2;

    // Large enough that each call submits a long sequential run, small enough that the disk starts early.
    private const long Window = 32L << 20;

    private readonly SafeFileHandle output;
    private readonly object gate = new();
    private long finished;
    private long submitted;
    private bool stopping;

    private EarlyWriteback(SafeFileHandle output)
    {
        this.output = output;
    }

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(int fd, long offset, long length, uint flags);

    /// <summary>A writer for this file, or null off Linux.</summary>
    public static EarlyWriteback? TryStart(SafeFileHandle output)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        var writeback = new EarlyWriteback(output);
        bool added = false;
        output.DangerousAddRef(ref added);
        var thread = new Thread(writeback.Run) { IsBackground = true, Name = "early write-back" };
        try
        {
            thread.Start();
        }
        catch
        {
            output.DangerousRelease();
            throw;
        }
        return writeback;
    }

    /// <summary>Everything below <paramref name="end"/> has been written (or is being written by an earlier call).</summary>
    public void Finished(long end)
    {
        lock (gate)
        {
            if (end <= finished)
            {
                return;
            }
            finished = end;
            if (finished - submitted >= Window)
            {
                Monitor.Pulse(gate);
            }
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            stopping = true;
            Monitor.Pulse(gate);
        }
    }

    private void Run()
    {
        try
        {
            int fd = (int)output.DangerousGetHandle();
            while (true)
            {
                long from;
                long to;
                bool last;
                lock (gate)
                {
                    while (!stopping && finished - submitted < Window)
                    {
                        Monitor.Wait(gate);
                    }
                    from = submitted;
                    to = finished;
                    last = stopping;
                    submitted = to;
                }
                if (to > from && SyncFileRange(fd, from, to - from, SYNC_FILE_RANGE_WRITE) != 0)
                {
                    // A file system without it (or a full queue reported as an error) only loses the hint.
                    return;
                }
                if (last)
                {
                    return;
                }
            }
        }
        finally
        {
            output.DangerousRelease();
        }
    }
}
