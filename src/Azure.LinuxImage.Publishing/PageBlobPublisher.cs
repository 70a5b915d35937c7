using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.Storage;
using Azure.Storage.Blobs.Models;

namespace Azure.LinuxImage.Publishing;

/// <summary>
/// Uploads a fixed VHD to a page blob: only its non-zero pages, several writes in flight, resumable,
/// and verified against the service's view before the blob is marked complete.
/// </summary>
/// <remarks>
/// Resume state lives on the blob itself, so it survives a killed process and another machine:
/// while uploading, the metadata holds the image's MD5 and "limgstate=uploading"; the page ranges
/// the service reports are exactly the writes that completed (each Put Page is atomic), so the next
/// run sends only planned ranges the service does not have yet. Completion sets Content-MD5 and
/// "limgstate=complete", which is also how an identical blob is recognised as up to date.
/// </remarks>
public sealed class PageBlobPublisher(PublishOptions options)
{
    public const string StateKey = "limgstate";
    public const string Md5Key = "limgmd5";
    public const string SizeKey = "limgsize";
    public const string StateUploading = "uploading";
    public const string StateComplete = "complete";

    private readonly SecretRedactor redactor = options.CreateRedactor();

    public SecretRedactor Redactor => redactor;

    public async Task<PublishResult> PublishAsync(string imagePath, IProgress<PublishProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var destination = BlobDestination.Create(options, redactor);
        string path = Path.GetFullPath(imagePath);
        var clock = Stopwatch.StartNew();

        UploadPlan.CheckFixedVhd(path);

        // The service before the scan: a wrong key or a missing container is reported at once, not
        // after reading the whole image. Creating the blob later is conditional, so nothing is lost.
        var existing = await Call(destination, "read the properties of", path,
            async ct => await destination.Client.GetPropertiesAsync(cancellationToken: ct).ConfigureAwait(false), cancellationToken, notFoundIsNull: true).ConfigureAwait(false);

        var scanReporter = new ProgressReporter(progress, PublishPhase.Scanning, new FileInfo(path).Length, options.ProgressInterval);
        var plan = await Task.Run(() => UploadPlan.Create(path, new Progress(scanReporter), cancellationToken), cancellationToken).ConfigureAwait(false);
        scanReporter.Finish();

        string md5Hex = Convert.ToHexString(plan.ContentMd5);
        bool resuming = false;
        if (existing is not null)
        {
            var props = existing.Value;
            var metadata = props.Metadata;
            bool samePageBlob = props.BlobType == BlobType.Page && props.ContentLength == plan.Length;
            bool ourUnfinishedUpload = samePageBlob
                && metadata.TryGetValue(StateKey, out string? state) && state == StateUploading
                && metadata.TryGetValue(Md5Key, out string? recordedMd5) && string.Equals(recordedMd5, md5Hex, StringComparison.OrdinalIgnoreCase);
            bool identical = samePageBlob && !ourUnfinishedUpload && props.ContentHash is { Length: > 0 } hash && hash.AsSpan().SequenceEqual(plan.ContentMd5);
            if (identical)
            {
                return new PublishResult(PublishOutcome.UpToDate, destination.Description, plan.Length, plan.DataBytes, 0, plan.DataBytes, 0,
                    plan.ContentMd5Base64, clock.Elapsed);
            }
            if (ourUnfinishedUpload)
            {
                resuming = true;
            }
            else if (!options.Overwrite)
            {
                throw new LinuxImageException(DiagnosticCatalog.PublishBlobExists, path, destination.Description, DescribeDifference(props, plan));
            }
        }

        var uploadingMetadata = Metadata(plan, StateUploading);
        IReadOnlyList<PageRange> toSend = plan.Ranges;
        if (resuming)
        {
            var present = await ServicePageRanges(destination, path, cancellationToken).ConfigureAwait(false);
            toSend = plan.Missing(present);
        }
        else
        {
            await CreateBlob(destination, plan, uploadingMetadata, overwrite: existing is not null, path, cancellationToken).ConfigureAwait(false);
        }

        long alreadyPresent = plan.DataBytes - toSend.Sum(r => r.Length);
        var uploadReporter = new ProgressReporter(progress, PublishPhase.Uploading, plan.DataBytes, options.ProgressInterval, alreadyPresent);
        var (sent, rangesSent) = await UploadRanges(destination, plan, toSend, uploadReporter, cancellationToken).ConfigureAwait(false);
        uploadReporter.Finish();

        await VerifyAsync(destination, plan, progress, cancellationToken).ConfigureAwait(false);

        // Content-MD5 first, then the state: a run stopped between the two still finds "uploading"
        // with our MD5 and completes by verifying, without sending anything again.
        await Call(destination, "set the Content-MD5 of", path, async ct => await destination.Client.SetHttpHeadersAsync(
            new BlobHttpHeaders { ContentType = "application/octet-stream", ContentHash = plan.ContentMd5 }, cancellationToken: ct).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
        await Call(destination, "set the metadata of", path, async ct => await destination.Client.SetMetadataAsync(
            Metadata(plan, StateComplete), cancellationToken: ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

        return new PublishResult(resuming ? PublishOutcome.Resumed : PublishOutcome.Uploaded, destination.Description, plan.Length, plan.DataBytes,
            sent, alreadyPresent, rangesSent, plan.ContentMd5Base64, clock.Elapsed);
    }

    private static Dictionary<string, string> Metadata(UploadPlan plan, string state) => new()
    {
        [StateKey] = state,
        [Md5Key] = Convert.ToHexString(plan.ContentMd5),
        [SizeKey] = plan.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string DescribeDifference(BlobProperties props, UploadPlan plan)
    {
        if (props.BlobType != BlobType.Page)
        {
            return $"is a {props.BlobType.ToString().ToLowerInvariant()} blob, not a page blob";
        }
        if (props.ContentLength != plan.Length)
        {
            return $"has {props.ContentLength} bytes where the image has {plan.Length}";
        }
        if (props.Metadata.TryGetValue(StateKey, out string? state) && state == StateUploading)
        {
            return "holds an unfinished upload of a different image";
        }
        string theirs = props.ContentHash is { Length: > 0 } h ? Convert.ToBase64String(h) : "none";
        return $"has other content (Content-MD5 {theirs}, the image's is {plan.ContentMd5Base64})";
    }

    private async Task CreateBlob(BlobDestination destination, UploadPlan plan, Dictionary<string, string> metadata, bool overwrite, string path, CancellationToken cancellationToken)
    {
        var createOptions = new PageBlobCreateOptions
        {
            Metadata = metadata,
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
            // Without overwrite, a blob that appeared since we looked is refused rather than replaced.
            Conditions = overwrite ? null : new PageBlobRequestConditions { IfNoneMatch = ETag.All },
        };
        try
        {
            await destination.Client.CreateAsync(plan.Length, createOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412 && e.ErrorCode is "BlobAlreadyExists" or "ConditionNotMet")
        {
            throw new LinuxImageException(DiagnosticCatalog.PublishBlobExists, path, destination.Description, "was created by someone else while this upload started");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw StorageErrors.Map(e, destination, redactor, "create", path);
        }
    }

    private async Task<(long Sent, int Ranges)> UploadRanges(BlobDestination destination, UploadPlan plan, IReadOnlyList<PageRange> ranges,
        ProgressReporter reporter, CancellationToken cancellationToken)
    {
        long sent = 0;
        int rangesSent = 0;
        using var handle = UploadPlan.OpenRead(plan.Path);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Clamp(options.Parallelism, 1, 64), CancellationToken = cancellationToken };
        try
        {
            await Parallel.ForEachAsync(ranges, parallel, async (range, ct) =>
            {
                int length = (int)range.Length;
                byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
                try
                {
                    UploadPlan.ReadExactly(handle, plan.Path, buffer.AsSpan(0, length), range.Offset);
                    using var content = new MemoryStream(buffer, 0, length, writable: false);
                    // A per-request MD5 makes the service reject a write corrupted on the way.
                    var uploadOptions = new PageBlobUploadPagesOptions
                    {
                        TransferValidation = new UploadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5 },
                    };
                    await destination.Client.UploadPagesAsync(content, range.Offset, uploadOptions, ct).ConfigureAwait(false);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                Interlocked.Increment(ref rangesSent);
                Interlocked.Add(ref sent, length);
                reporter.Add(length);
            }).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
        {
            throw new LinuxImageException(DiagnosticCatalog.PublishInterrupted, plan.Path, e, destination.Description,
                reporter.Done, plan.DataBytes);
        }
        catch (Exception e) when (e is not LinuxImageException)
        {
            throw StorageErrors.Map(e, destination, redactor, "write pages to", plan.Path);
        }
        return (sent, rangesSent);
    }

    private async Task VerifyAsync(BlobDestination destination, UploadPlan plan, IProgress<PublishProgress>? progress, CancellationToken cancellationToken)
    {
        var expected = UploadPlan.Merge(plan.Ranges);
        var actual = await ServicePageRanges(destination, plan.Path, cancellationToken).ConfigureAwait(false);
        if (!expected.SequenceEqual(actual))
        {
            throw new LinuxImageException(DiagnosticCatalog.PublishVerificationFailed, plan.Path, destination.Description, DescribeRangeDifference(expected, actual));
        }

        var toCheck = SampleForVerification(plan.Ranges, options.Verify, options.VerifySampleCount);
        var reporter = new ProgressReporter(progress, PublishPhase.Verifying, toCheck.Sum(r => r.Length), options.ProgressInterval);
        using (var handle = UploadPlan.OpenRead(plan.Path))
        {
            byte[] local = new byte[UploadPlan.MaxWriteSize];
            foreach (var range in toCheck)
            {
                var downloaded = await Call(destination, "read back", plan.Path, async ct => await destination.Client.DownloadContentAsync(
                    new BlobDownloadOptions { Range = new HttpRange(range.Offset, range.Length) }, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                UploadPlan.ReadExactly(handle, plan.Path, local.AsSpan(0, (int)range.Length), range.Offset);
                if (!downloaded!.Value.Content.ToMemory().Span.SequenceEqual(local.AsSpan(0, (int)range.Length)))
                {
                    throw new LinuxImageException(DiagnosticCatalog.PublishVerificationFailed, plan.Path, destination.Description,
                        $"the bytes of range {range} read back differ from the image");
                }
                reporter.Add(range.Length);
            }
        }
        reporter.Finish();

        // The plan's MD5 and ranges describe the file as it was scanned; a rebuild since then means
        // the blob may hold a mixture, which the user must not take for the new image.
        var info = new FileInfo(plan.Path);
        if (!info.Exists || info.Length != plan.Length || info.LastWriteTimeUtc != plan.LastWriteUtc)
        {
            throw new LinuxImageException(DiagnosticCatalog.PublishImageChanged, plan.Path, plan.Path);
        }
    }

    internal static IReadOnlyList<PageRange> SampleForVerification(IReadOnlyList<PageRange> ranges, VerifyMode mode, int sampleCount)
    {
        if (mode == VerifyMode.Full || ranges.Count == 0)
        {
            return ranges;
        }
        if (mode == VerifyMode.PageRanges)
        {
            return [];
        }
        // The last range holds the footer, the part Azure reads to accept the disk; the first the boot sector.
        var picked = new SortedSet<int> { 0, ranges.Count - 1 };
        int count = Math.Max(2, sampleCount);
        for (int i = 1; i < count - 1 && picked.Count < Math.Min(count, ranges.Count); i++)
        {
            picked.Add((int)((long)i * (ranges.Count - 1) / (count - 1)));
        }
        return picked.Select(i => ranges[i]).ToList();
    }

    private static string DescribeRangeDifference(List<PageRange> expected, List<PageRange> actual)
    {
        for (int i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            string e = i < expected.Count ? expected[i].ToString() : "nothing";
            string a = i < actual.Count ? actual[i].ToString() : "nothing";
            if (e != a)
            {
                return $"the service holds {actual.Count} page ranges where the image has {expected.Count}; the first difference is range {i}: expected {e}, found {a}";
            }
        }
        return "the page ranges differ";
    }

    private async Task<List<PageRange>> ServicePageRanges(BlobDestination destination, string path, CancellationToken cancellationToken)
    {
        try
        {
            var ranges = new List<PageRange>();
            await foreach (var item in destination.Client.GetAllPageRangesAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (!item.IsClear)
                {
                    ranges.Add(new PageRange(item.Range.Offset, item.Range.Length ?? 0));
                }
            }
            return UploadPlan.Merge(ranges);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw StorageErrors.Map(e, destination, redactor, "list the page ranges of", path);
        }
    }

    private async Task<T?> Call<T>(BlobDestination destination, string action, string path, Func<CancellationToken, Task<T>> call,
        CancellationToken cancellationToken, bool notFoundIsNull = false)
        where T : class
    {
        try
        {
            return await call(cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (notFoundIsNull && e.Status == 404 && e.ErrorCode != "ContainerNotFound")
        {
            // A HEAD answer has no body, so a missing container can look like a missing blob here;
            // creating the blob then reports the container precisely.
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw StorageErrors.Map(e, destination, redactor, action, path);
        }
    }

    /// <summary>Adapts the scan's byte count to the throttled reporter.</summary>
    private sealed class Progress(ProgressReporter reporter) : IProgress<long>
    {
        public void Report(long value) => reporter.Set(value);
    }
}
