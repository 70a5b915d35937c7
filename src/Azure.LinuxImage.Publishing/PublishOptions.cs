namespace Azure.LinuxImage.Publishing;

public enum VerifyMode
{
    /// <summary>Page ranges only: proves every range landed, not what it holds.</summary>
    PageRanges,

    /// <summary>Page ranges, and a few ranges (the first, the last with the footer, and evenly spaced ones) read back and compared.</summary>
    Sample,

    /// <summary>Page ranges, and every uploaded range read back and compared; downloads as much as was uploaded.</summary>
    Full,
}

/// <summary>
/// Where to publish and how to authenticate. Credentials are tried in the order Azure users expect:
/// a SAS (<see cref="Sas"/>, or in the URI), then a connection string, then DefaultAzureCredential.
/// </summary>
public sealed class PublishOptions
{
    /// <summary>
    /// The destination page blob, e.g. https://account.blob.core.windows.net/vhds/MyImage.vhd. With a
    /// connection string it may also be just "container/blob".
    /// </summary>
    public string? BlobUri { get; set; }

    public string? Sas { get; set; }

    public string? ConnectionString { get; set; }

    public bool Overwrite { get; set; }

    /// <summary>How many page writes are in flight at once.</summary>
    public int Parallelism { get; set; } = 8;

    public VerifyMode Verify { get; set; } = VerifyMode.Sample;

    /// <summary>Ranges read back by <see cref="VerifyMode.Sample"/>.</summary>
    public int VerifySampleCount { get; set; } = 8;

    /// <summary>Retries of one request after a transient fault (the SDK's exponential policy).</summary>
    public int MaxRetries { get; set; } = 5;

    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>Least time between two progress reports; phase ends are always reported.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(1);

    public SecretRedactor CreateRedactor()
    {
        var redactor = new SecretRedactor(Sas, ConnectionString, SasInUri(BlobUri));
        foreach (string? sas in new[] { Sas, SasInUri(BlobUri) })
        {
            if (!string.IsNullOrWhiteSpace(sas))
            {
                redactor.Add(SasToken.Normalize(sas));
                redactor.Add(SasToken.Signature(sas));
            }
        }
        return redactor;
    }

    private static string? SasInUri(string? uri)
    {
        int q = uri?.IndexOf('?', StringComparison.Ordinal) ?? -1;
        return q < 0 ? null : uri![(q + 1)..];
    }
}
