using System.Collections.Concurrent;
using System.Diagnostics;

namespace Azure.LinuxImage.Engine.Diagnostics;

/// <summary>
/// Where a step's time goes, phase by phase (Stopwatch), so speed work starts from a measurement:
/// the command line prints the phases when it ends, and the SDK shows them at detailed verbosity
/// (-v:d). Costs a Stopwatch per phase; phases are coarse (a whole read, a whole rule set).
/// </summary>
public static class StepTimings
{
    private static readonly ConcurrentQueue<(string Phase, TimeSpan Elapsed)> Phases = new();

    [ThreadStatic]
    private static string? threadPrefix;

    /// <summary>Times the phase until the returned scope is disposed.</summary>
    public static Scope Measure(string phase) => new(threadPrefix + phase, Stopwatch.GetTimestamp());

    /// <summary>
    /// Names this thread's phases after the work it does for another step (the patch cache's
    /// warm-up during the conversion), so they are not read as that step's own.
    /// </summary>
    public static void NameThreadPhases(string prefix) => threadPrefix = prefix;

    public static T Measure<T>(string phase, Func<T> work)
    {
        using var scope = Measure(phase);
        return work();
    }

    private static readonly ConcurrentQueue<string> Notes = new();

    /// <summary>A fact that explains a time (how many bytes were cloned rather than copied).</summary>
    public static void Note(string text) => Notes.Enqueue(text);

    public static IReadOnlyList<string> Noted => [.. Notes];

    /// <summary>Every phase timed so far, in the order they ended.</summary>
    public static IReadOnlyList<(string Phase, TimeSpan Elapsed)> Completed => [.. Phases];

    /// <summary>Forgets every phase and note: a process that runs several commands reports each command's own.</summary>
    public static void Clear()
    {
        Phases.Clear();
        Notes.Clear();
    }

    public readonly struct Scope(string phase, long started) : IDisposable
    {
        public void Dispose() => Phases.Enqueue((phase, Stopwatch.GetElapsedTime(started)));
    }
}
