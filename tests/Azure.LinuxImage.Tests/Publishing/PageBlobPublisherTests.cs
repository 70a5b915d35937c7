using System.Collections.Concurrent;
using System.Security.Cryptography;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Publishing;
using Azure.LinuxImage.Tests.Infrastructure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;

namespace Azure.LinuxImage.Tests.Publishing;

/// <summary>Publishing against a real Azurite server, through the same SDK code path as Azure.</summary>
[TestClass]
public sealed class PageBlobPublisherTests : IDisposable
{
    private string container = string.Empty;
    private TempDir dir = null!;

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public async Task Setup()
    {
        container = await AzuriteServer.CreateContainerAsync();
        dir = new TempDir("publish");
    }

    [TestCleanup]
    public async Task Cleanup() => await AzuriteServer.DeleteContainerAsync(container);

    public void Dispose() => dir.Dispose();

    [TestMethod]
    public async Task Upload_sends_only_the_non_zero_pages_and_the_blob_reads_back_identical()
    {
        string vhd = ScatteredImage();
        var progress = new Recorder();

        var result = await new PageBlobPublisher(Options()).PublishAsync(vhd, progress, TestContext.CancellationToken);

        var expected = SparseVhd.NonZeroRuns(vhd).Select(r => new PageRange(r.Offset, r.Length)).ToList();
        Assert.AreEqual(PublishOutcome.Uploaded, result.Outcome);
        Assert.AreEqual(expected.Sum(r => r.Length), result.BytesSent);
        Assert.AreEqual(new FileInfo(vhd).Length - result.BytesSent, result.ZeroBytesSkipped);
        CollectionAssert.AreEqual(expected, await ServiceRanges());
        CollectionAssert.AreEqual(File.ReadAllBytes(vhd), await DownloadAll());
        var props = (await Blob().GetPropertiesAsync(cancellationToken: TestContext.CancellationToken)).Value;
        Assert.AreEqual(BlobType.Page, props.BlobType);
#pragma warning disable CA5351 // Content-MD5 is the service's integrity field, not a security measure.
        CollectionAssert.AreEqual(MD5.HashData(File.ReadAllBytes(vhd)), props.ContentHash);
#pragma warning restore CA5351
        Assert.AreEqual(PageBlobPublisher.StateComplete, props.Metadata[PageBlobPublisher.StateKey]);
        Assert.IsTrue(progress.Reports.Any(p => p.Phase == PublishPhase.Uploading && p.BytesDone == result.BytesSent && p.BytesTotal == result.DataBytes));
        Assert.IsTrue(progress.Reports.Any(p => p.Phase == PublishPhase.Verifying));
    }

    [TestMethod]
    public async Task An_identical_blob_is_left_alone_and_reported_up_to_date()
    {
        string vhd = ScatteredImage();
        await new PageBlobPublisher(Options()).PublishAsync(vhd, cancellationToken: TestContext.CancellationToken);
        var etag = (await Blob().GetPropertiesAsync(cancellationToken: TestContext.CancellationToken)).Value.ETag;

        var again = await new PageBlobPublisher(Options()).PublishAsync(vhd, cancellationToken: TestContext.CancellationToken);

        Assert.AreEqual(PublishOutcome.UpToDate, again.Outcome);
        Assert.AreEqual(0, again.BytesSent);
        Assert.AreEqual(etag, (await Blob().GetPropertiesAsync(cancellationToken: TestContext.CancellationToken)).Value.ETag);
        StringAssert.Contains(again.Summary(), "up to date");
    }

    [TestMethod]
    public async Task An_interrupted_upload_resumes_sending_only_the_missing_ranges()
    {
        string vhd = ScatteredImage();
        var options = Options();
        options.Parallelism = 1;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.CancellationToken);
        // Stop once three writes have completed: the service then holds part of the image.
        var stopper = new Recorder(p =>
        {
            if (p.Phase == PublishPhase.Uploading && p.BytesDone > 0 && ++writesSeen >= 3)
            {
                cancel.Cancel();
            }
        });

        var interrupted = await Assert.ThrowsExactlyAsync<LinuxImageException>(
            () => new PageBlobPublisher(options).PublishAsync(vhd, stopper, cancel.Token));
        Assert.AreEqual("LIMG0610", interrupted.Descriptor.Code);
        StringAssert.Contains(interrupted.Message, "publish again to resume");

        var plan = UploadPlan.Create(vhd);
        var present = await ServiceRanges();
        long presentBytes = present.Sum(r => r.Length);
        Assert.IsTrue(presentBytes > 0 && presentBytes < plan.DataBytes, $"part of the image is on the service ({presentBytes} of {plan.DataBytes})");
        long missingBytes = plan.Missing(present).Sum(r => r.Length);

        var resumed = await new PageBlobPublisher(Options()).PublishAsync(vhd, cancellationToken: TestContext.CancellationToken);

        Assert.AreEqual(PublishOutcome.Resumed, resumed.Outcome);
        Assert.AreEqual(missingBytes, resumed.BytesSent);
        Assert.AreEqual(plan.DataBytes - missingBytes, resumed.BytesAlreadyPresent);
        CollectionAssert.AreEqual(File.ReadAllBytes(vhd), await DownloadAll());
        Assert.AreEqual(PageBlobPublisher.StateComplete,
            (await Blob().GetPropertiesAsync(cancellationToken: TestContext.CancellationToken)).Value.Metadata[PageBlobPublisher.StateKey]);
    }

    private int writesSeen;

    [TestMethod]
    public async Task An_existing_blob_with_other_content_is_refused_without_overwrite_and_replaced_with_it()
    {
        string first = ScatteredImage("first.vhd", seedShift: 0);
        string second = ScatteredImage("second.vhd", seedShift: 100);
        await new PageBlobPublisher(Options()).PublishAsync(first, cancellationToken: TestContext.CancellationToken);

        var refused = await Assert.ThrowsExactlyAsync<LinuxImageException>(
            () => new PageBlobPublisher(Options()).PublishAsync(second, cancellationToken: TestContext.CancellationToken));
        Assert.AreEqual("LIMG0607", refused.Descriptor.Code);
        StringAssert.Contains(refused.Message, "AzureBlobOverwrite=true");
        CollectionAssert.AreEqual(File.ReadAllBytes(first), await DownloadAll(), "the refused publish changed nothing");

        var options = Options();
        options.Overwrite = true;
        var replaced = await new PageBlobPublisher(options).PublishAsync(second, cancellationToken: TestContext.CancellationToken);
        Assert.AreEqual(PublishOutcome.Uploaded, replaced.Outcome);
        CollectionAssert.AreEqual(File.ReadAllBytes(second), await DownloadAll());
        CollectionAssert.AreEqual(SparseVhd.NonZeroRuns(second).Select(r => new PageRange(r.Offset, r.Length)).ToList(), await ServiceRanges());
    }

    [TestMethod]
    public async Task A_block_blob_in_the_way_is_refused_without_overwrite()
    {
        string vhd = ScatteredImage();
        await AzuriteServer.Service().GetBlobContainerClient(container).GetBlobClient("image.vhd")
            .UploadAsync(BinaryData.FromString("not a disk"), TestContext.CancellationToken);

        var e = await Assert.ThrowsExactlyAsync<LinuxImageException>(
            () => new PageBlobPublisher(Options()).PublishAsync(vhd, cancellationToken: TestContext.CancellationToken));

        Assert.AreEqual("LIMG0607", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "not a page blob");
    }

    [TestMethod]
    public async Task A_wrong_account_key_gives_LIMG0603_without_the_key()
    {
        string vhd = ScatteredImage();
        string wrongKey = Convert.ToBase64String(SHA512.HashData("not the key"u8));
        var options = Options();
        options.ConnectionString = AzuriteServer.ConnectionString(key: wrongKey);

        var e = await Assert.ThrowsExactlyAsync<LinuxImageException>(
            () => new PageBlobPublisher(options).PublishAsync(vhd, cancellationToken: TestContext.CancellationToken));

        Assert.AreEqual("LIMG0603", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "account key");
        AssertNoSecret(e.ToString(), wrongKey, options.ConnectionString);
    }

    [TestMethod]
    public async Task An_unreachable_endpoint_gives_LIMG0605()
    {
        string vhd = ScatteredImage();
        var options = Options();
        options.ConnectionString = AzuriteServer.ConnectionString(endpoint: $"http://127.0.0.1:{AzuriteServer.ClosedPort()}/{AzuriteServer.AccountName}");
        options.BlobUri = $"{container}/image.vhd";
        options.MaxRetries = 1;
        options.RetryDelay = TimeSpan.FromMilliseconds(10);

        var e = await Assert.ThrowsExactlyAsync<LinuxImageException>(
            () => new PageBlobPublisher(options).PublishAsync(vhd, cancellationToken: TestContext.CancellationToken));

        Assert.AreEqual("LIMG0605", e.Descriptor.Code);
        AssertNoSecret(e.ToString(), AzuriteServer.AccountKey, options.ConnectionString);
    }

    [TestMethod]
    public async Task A_missing_container_gives_LIMG0606_naming_it()
    {
        string vhd = ScatteredImage();
        var options = Options();
        options.BlobUri = "no-such-container/image.vhd";

        var e = await Assert.ThrowsExactlyAsync<LinuxImageException>(
            () => new PageBlobPublisher(options).PublishAsync(vhd, cancellationToken: TestContext.CancellationToken));

        Assert.AreEqual("LIMG0606", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "'no-such-container'");
    }

    [TestMethod]
    public async Task Publishing_with_a_SAS_works_and_no_secret_appears_in_any_message()
    {
        string vhd = ScatteredImage();
        string sas = Sas(BlobSasPermissions.Read | BlobSasPermissions.Create | BlobSasPermissions.Write);
        var messages = new ConcurrentBag<string>();
        var progress = new Recorder(p => messages.Add(p.ToString()));
        var options = new PublishOptions { BlobUri = BlobUri(), Sas = sas, ProgressInterval = TimeSpan.Zero };

        var result = await new PageBlobPublisher(options).PublishAsync(vhd, progress, TestContext.CancellationToken);
        messages.Add(result.Summary());
        messages.Add(result.ToString());

        // A SAS in the URI, and a SAS whose signature is wrong.
        var inUri = new PublishOptions { BlobUri = BlobUri() + "?" + sas, Overwrite = true };
        messages.Add((await new PageBlobPublisher(inUri).PublishAsync(vhd, cancellationToken: TestContext.CancellationToken)).Summary());
        string forged = ForgeSignature(sas);
        var wrong = new PublishOptions { BlobUri = BlobUri() + "?" + forged, Overwrite = true };
        var e = await Assert.ThrowsExactlyAsync<LinuxImageException>(
            () => new PageBlobPublisher(wrong).PublishAsync(vhd, cancellationToken: TestContext.CancellationToken));
        Assert.AreEqual("LIMG0603", e.Descriptor.Code);
        messages.Add(e.ToString());

        Assert.AreEqual(PublishOutcome.Uploaded, result.Outcome);
        foreach (string message in messages)
        {
            AssertNoSecret(message, Signature(sas), Signature(forged), AzuriteServer.AccountKey);
        }
    }

    [TestMethod]
    public async Task A_SAS_without_write_permission_gives_LIMG0604()
    {
        string vhd = ScatteredImage();
        string sas = Sas(BlobSasPermissions.Read);
        var options = new PublishOptions { BlobUri = BlobUri(), Sas = sas };

        var e = await Assert.ThrowsExactlyAsync<LinuxImageException>(
            () => new PageBlobPublisher(options).PublishAsync(vhd, cancellationToken: TestContext.CancellationToken));

        Assert.AreEqual("LIMG0604", e.Descriptor.Code);
        AssertNoSecret(e.ToString(), Signature(sas));
    }

    [TestMethod]
    public async Task Destinations_that_cannot_work_are_refused_before_any_request()
    {
        string vhd = ScatteredImage();
        async Task<string> CodeFor(PublishOptions o) =>
            (await Assert.ThrowsExactlyAsync<LinuxImageException>(() => new PageBlobPublisher(o).PublishAsync(vhd, cancellationToken: TestContext.CancellationToken))).Descriptor.Code;

        Assert.AreEqual("LIMG0600", await CodeFor(new PublishOptions()));
        Assert.AreEqual("LIMG0601", await CodeFor(new PublishOptions { BlobUri = "https://acct.blob.core.windows.net/only-a-container" }));
        Assert.AreEqual("LIMG0601", await CodeFor(new PublishOptions { BlobUri = BlobUri() }), "http needs a SAS or a connection string");
        Assert.AreEqual("LIMG0601", await CodeFor(new PublishOptions { BlobUri = "https://other.blob.core.windows.net/c/b.vhd", ConnectionString = AzuriteServer.ConnectionString() }));
        string badConnection = "AccountName=x;AccountKey=" + AzuriteServer.AccountKey + ";Nonsense";
        var e = await Assert.ThrowsExactlyAsync<LinuxImageException>(() => new PageBlobPublisher(new PublishOptions { BlobUri = "c/b.vhd", ConnectionString = badConnection })
            .PublishAsync(vhd, cancellationToken: TestContext.CancellationToken));
        Assert.AreEqual("LIMG0602", e.Descriptor.Code);
        AssertNoSecret(e.ToString(), AzuriteServer.AccountKey);
    }

    [TestMethod]
    public async Task An_image_that_is_not_a_fixed_VHD_is_refused_before_contacting_the_service()
    {
        string raw = dir["disk.raw"];
        await File.WriteAllBytesAsync(raw, new byte[2 * SparseVhd.MiB], TestContext.CancellationToken);
        var options = Options();
        options.ConnectionString = AzuriteServer.ConnectionString(endpoint: $"http://127.0.0.1:{AzuriteServer.ClosedPort()}/{AzuriteServer.AccountName}");
        options.BlobUri = $"{container}/image.vhd";

        var e = await Assert.ThrowsExactlyAsync<LinuxImageException>(
            () => new PageBlobPublisher(options).PublishAsync(raw, cancellationToken: TestContext.CancellationToken));

        Assert.AreEqual("LIMG0609", e.Descriptor.Code);
    }

    private PublishOptions Options() => new()
    {
        BlobUri = BlobUri(),
        ConnectionString = AzuriteServer.ConnectionString(),
        Verify = VerifyMode.Full,
        ProgressInterval = TimeSpan.Zero,
        Parallelism = 4,
    };

    private string BlobUri() => $"{AzuriteServer.BlobEndpoint}/{container}/image.vhd";

    private PageBlobClient Blob() => AzuriteServer.Service().GetBlobContainerClient(container).GetPageBlobClient("image.vhd");

    private string ScatteredImage(string name = "image.vhd", int seedShift = 0)
    {
        string path = dir[name];
        SparseVhd.Create(path, 40, SparseVhd.ScatteredWrites().Select(w => (w.Offset, w.Data.Select(b => (byte)(b == 0 ? 0 : b ^ seedShift | 1)).ToArray())));
        return path;
    }

    private async Task<List<PageRange>> ServiceRanges()
    {
        var ranges = new List<PageRange>();
        await foreach (var item in Blob().GetAllPageRangesAsync(cancellationToken: TestContext.CancellationToken))
        {
            ranges.Add(new PageRange(item.Range.Offset, item.Range.Length!.Value));
        }
        return UploadPlan.Merge(ranges);
    }

    private async Task<byte[]> DownloadAll() =>
        (await Blob().DownloadContentAsync(TestContext.CancellationToken)).Value.Content.ToArray();

    private string Sas(BlobSasPermissions permissions)
    {
        var builder = new BlobSasBuilder(permissions, DateTimeOffset.UtcNow.AddHours(1))
        {
            BlobContainerName = container,
            BlobName = "image.vhd",
            Resource = "b",
        };
        return builder.ToSasQueryParameters(new StorageSharedKeyCredential(AzuriteServer.AccountName, AzuriteServer.AccountKey)).ToString();
    }

    private static string Signature(string sas) =>
        Uri.UnescapeDataString(sas.Split('&').Single(p => p.StartsWith("sig=", StringComparison.Ordinal))[4..]);

    private static string ForgeSignature(string sas) =>
        string.Join('&', sas.Split('&').Select(p => p.StartsWith("sig=", StringComparison.Ordinal)
            ? "sig=" + Uri.EscapeDataString(Convert.ToBase64String(SHA256.HashData("forged"u8)))
            : p));

    private static void AssertNoSecret(string text, params string[] secrets)
    {
        foreach (string secret in secrets)
        {
            Assert.DoesNotContain(secret, text, $"a secret leaked into: {text}");
            Assert.DoesNotContain(Uri.EscapeDataString(secret), text, $"a secret leaked (URL-encoded) into: {text}");
        }
    }

    /// <summary>Records reports synchronously, unlike Progress&lt;T&gt;, so a test can act on one at once.</summary>
    private sealed class Recorder(Action<PublishProgress>? onReport = null) : IProgress<PublishProgress>
    {
        public ConcurrentQueue<PublishProgress> Reports { get; } = new();

        public void Report(PublishProgress value)
        {
            Reports.Enqueue(value);
            onReport?.Invoke(value);
        }
    }
}
