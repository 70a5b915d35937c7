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
/// The thread holds a reference on the handle (no second descriptor for a child process to
/// inherit), and Dispose waits for it: .NET locks the files it opens (FileShare as flock), so a
/// handle whose close was deferred kept the output locked after the conversion returned.
/// </summary>
internal sealed partial class EarlyWriteback : IDisposable
{
    private const uint SYNC_FILE_RANGE_WRITE = 2;

    // Large enough that each call submits a long sequential run, small enough that the disk starts early.
    private const long Window = 32L << 20;

    private readonly SafeFileHandle output;
    private readonly Thread thread;
    private readonly object gate = new();
    private long finished;
    private long submitted;
    private bool stopping;

    private EarlyWriteback(SafeFileHandle output)
    {
        this.output = output;
        thread = new Thread(Run) { IsBackground = true, Name = "early write-back" };
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
        try
        {
            writeback.thread.Start();
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

    /// <summary>Stops submitting (what is left is written back by the kernel or the patch's fsync) and waits for a call under way.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            stopping = true;
            Monitor.Pulse(gate);
        }
        thread.Join();
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
                lock (gate)
                {
                    while (!stopping && finished - submitted < Window)
                    {
                        Monitor.Wait(gate);
                    }
                    if (stopping)
                    {
                        // The tail is not submitted: the caller is waiting, and the call can block.
                        return;
                    }
                    from = submitted;
                    to = finished;
                    submitted = to;
                }
                if (SyncFileRange(fd, from, to - from, SYNC_FILE_RANGE_WRITE) != 0)
                {
                    // A file system without it (or a full queue reported as an error) only loses the hint.
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
