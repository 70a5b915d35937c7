using System.Diagnostics;

namespace Azure.LinuxImage.Publishing;

/// <summary>
/// Counts one phase's bytes from any thread and reports at most once per interval, so a log at
/// normal verbosity gets a line a second rather than one per 4 MiB write.
/// </summary>
internal sealed class ProgressReporter
{
    private readonly IProgress<PublishProgress>? sink;
    private readonly PublishPhase phase;
    private readonly long total;
    private readonly long startedAt;
    private readonly TimeSpan interval;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly Lock gate = new();
    private long done;
    private TimeSpan lastReport = TimeSpan.MinValue;

    public ProgressReporter(IProgress<PublishProgress>? sink, PublishPhase phase, long total, TimeSpan interval, long alreadyDone = 0)
    {
        this.sink = sink;
        this.phase = phase;
        this.total = total;
        this.interval = interval;
        done = alreadyDone;
        startedAt = alreadyDone;
    }

    public long Done => Interlocked.Read(ref done);

    public void Add(long bytes) => Publish(Interlocked.Add(ref done, bytes), force: false);

    public void Set(long bytes)
    {
        Interlocked.Exchange(ref done, bytes);
        Publish(bytes, force: false);
    }

    public void Finish() => Publish(Done, force: true);

    private void Publish(long value, bool force)
    {
        if (sink is null)
        {
            return;
        }
        lock (gate)
        {
            var now = clock.Elapsed;
            if (!force && lastReport != TimeSpan.MinValue && now - lastReport < interval)
            {
                return;
            }
            lastReport = now;
            // The rate counts only this run's bytes; ranges already on the service were free.
            sink.Report(new PublishProgress(phase, value, total, now) { BytesAlreadyDone = startedAt });
        }
    }
}
