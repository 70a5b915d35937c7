using System.Diagnostics;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Cli;

/// <summary>
/// One command's share of its process, for a process that serves several (the SDK's standby): its
/// timings and its garbage are its own, as they would be in a process of its own. The peak resident
/// size stays the process's, as external measures (getrusage, /usr/bin/time) see it.
/// </summary>
internal static class CommandRun
{
    /// <summary>When the command began; the process's start for a process that runs one.</summary>
    public static DateTime Started { get; private set; } = Process.GetCurrentProcess().StartTime;

    /// <summary>Commands this process ran before this one.</summary>
    public static int Before { get; private set; } = -1;

    /// <summary>The process goes on with the next command (a standby of the SDK's): work for that command may outlive this one.</summary>
    public static bool ServesMore { get; private set; }

    public static void Begin(bool servesMore)
    {
        ServesMore = servesMore;
        Before++;
        if (Before > 0)
        {
            Started = DateTime.Now;
        }
        StepTimings.Clear();
    }

    /// <summary>The command left work running for the next one (the patch cache's warm-up).</summary>
    public static bool LeftWorkRunning { get; set; }

    /// <summary>
    /// Collects the command's garbage, so the next command reuses that memory instead of growing
    /// the process (kept committed: handing it back only makes the next step fault it in again).
    /// Not while work it left for the next command still runs: that memory is in use, and a
    /// compacting collection would only stall it.
    /// </summary>
    public static void End()
    {
        if (!LeftWorkRunning)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        }
        LeftWorkRunning = false;
    }
}
