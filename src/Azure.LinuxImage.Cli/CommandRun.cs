using System.Diagnostics;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Cli;

/// <summary>
/// One command's share of its process, for a process that serves several (the SDK's standby): its
/// timings, its peak memory and its garbage are its own, as they would be in a process of its own.
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

    /// <summary>
    /// Hands the command's memory back to the system and restarts the peak resident size
    /// (VmHWM; Linux's clear_refs 5), so the next command's figures are its own.
    /// </summary>
    public static void End()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or no procfs: the peak then covers the commands before too.
        }
    }
}
