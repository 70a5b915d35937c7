namespace Azure.LinuxImage.Publishing;

public enum PublishPhase
{
    /// <summary>Reading the image's data regions to find the non-zero pages and hash the content.</summary>
    Scanning,
    Uploading,
    Verifying,
}

/// <summary>One progress report; for uploading, bytes are bytes of data sent of those to send.</summary>
public sealed record PublishProgress(PublishPhase Phase, long BytesDone, long BytesTotal, TimeSpan Elapsed)
{
    /// <summary>Bytes that were done before this run started (ranges a resumed upload found on the service).</summary>
    public long BytesAlreadyDone { get; init; }

    public double BytesPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : (BytesDone - BytesAlreadyDone) / Elapsed.TotalSeconds;

    public TimeSpan? Remaining => BytesPerSecond <= 0 ? null : TimeSpan.FromSeconds((BytesTotal - BytesDone) / BytesPerSecond);

    public double Percent => BytesTotal == 0 ? 100 : 100.0 * BytesDone / BytesTotal;
}

public enum PublishOutcome
{
    /// <summary>The blob was created and every data range uploaded.</summary>
    Uploaded,

    /// <summary>An interrupted upload of the same image was completed; ranges already there were not sent again.</summary>
    Resumed,

    /// <summary>The blob already held this image; nothing was sent.</summary>
    UpToDate,
}

public sealed record PublishResult(
    PublishOutcome Outcome,
    string Destination,
    long ImageLength,
    long DataBytes,
    long BytesSent,
    long BytesAlreadyPresent,
    int RangesSent,
    string ContentMd5,
    TimeSpan Elapsed)
{
    /// <summary>Bytes never sent because they are zeros: holes and zero pages inside data regions.</summary>
    public long ZeroBytesSkipped => ImageLength - DataBytes;

    public string Summary()
    {
        string verb = Outcome switch
        {
            PublishOutcome.UpToDate => "is up to date",
            PublishOutcome.Resumed => "resumed and completed",
            _ => "uploaded",
        };
        double rate = Elapsed.TotalSeconds <= 0 ? 0 : BytesSent / Elapsed.TotalSeconds;
        return $"{Destination} {verb}: {ByteSize.Format(BytesSent)} sent in {RangesSent} ranges"
            + (BytesAlreadyPresent > 0 ? $", {ByteSize.Format(BytesAlreadyPresent)} already present" : string.Empty)
            + $", {ByteSize.Format(ZeroBytesSkipped)} of zeros skipped, image {ByteSize.Format(ImageLength)}"
            + $", {Elapsed.TotalSeconds:0.0} s ({ByteSize.Format((long)rate)}/s), Content-MD5 {ContentMd5}";
    }
}

public static class ByteSize
{
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.00} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes} bytes",
    };
}
