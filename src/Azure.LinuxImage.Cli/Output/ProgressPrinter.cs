using Azure.LinuxImage.Engine.Conversion;

namespace Azure.LinuxImage.Cli.Output;

/// <summary>Progress lines for long work; the engine reports at most once a second.</summary>
internal sealed class ProgressPrinter(string verb, TextWriter output) : IProgress<ConversionProgress>
{
    public void Report(ConversionProgress value)
    {
        double percent = value.BytesTotal == 0 ? 100 : 100.0 * value.BytesDone / value.BytesTotal;
        output.WriteLine($"linuximage: {verb} {percent:0}% ({Size.Format(value.BytesDone)} of {Size.Format(value.BytesTotal)} of data)");
    }
}

internal static class Size
{
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.00} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes} bytes",
    };
}
