using System.Buffers;
using System.Diagnostics;
using Azure.LinuxImage.Publishing;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

// usage: UploadBench ours|naive <image.vhd> <connection string> <container/blob> <parallelism>
// Prints one line: "<mode> bytes_sent=<n> seconds=<s>".
if (args.Length != 5)
{
    Console.Error.WriteLine("usage: UploadBench ours|naive <image.vhd> <connection string> <container/blob> <parallelism>");
    return 2;
}
string mode = args[0];
string image = args[1];
string connectionString = args[2];
string blobPath = args[3];
int parallelism = int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);

// The bench owns its container; the publisher itself never creates one (LIMG0606).
int separator = blobPath.IndexOf('/', StringComparison.Ordinal);
await new BlobServiceClient(connectionString).GetBlobContainerClient(blobPath[..separator]).CreateIfNotExistsAsync();

var clock = Stopwatch.StartNew();
long sent;
if (mode == "ours")
{
    var publisher = new PageBlobPublisher(new PublishOptions
    {
        BlobUri = blobPath,
        ConnectionString = connectionString,
        Parallelism = parallelism,
        Overwrite = true,
        Verify = VerifyMode.Sample,
    });
    var phases = new PhaseTimes();
    var result = await publisher.PublishAsync(image, phases);
    sent = result.BytesSent;
    Console.Error.WriteLine(result.Summary());
    Console.Error.WriteLine("phases: " + string.Join(", ", phases.Last.Select(p => $"{p.Key.ToString().ToLowerInvariant()} {p.Value.TotalSeconds:0.0} s")));
}
else
{
    // What a tool that ignores zeros does: every 4 MiB of the file, zeros included, in parallel.
    int slash = blobPath.IndexOf('/', StringComparison.Ordinal);
    var blob = new BlobServiceClient(connectionString).GetBlobContainerClient(blobPath[..slash]).GetPageBlobClient(blobPath[(slash + 1)..]);
    long length = new FileInfo(image).Length;
    await blob.CreateAsync(length, new PageBlobCreateOptions());
    using var handle = File.OpenHandle(image);
    const int chunk = 4 * 1024 * 1024;
    var offsets = Enumerable.Range(0, (int)((length + chunk - 1) / chunk)).Select(i => (long)i * chunk);
    long total = 0;
    await Parallel.ForEachAsync(offsets, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (offset, ct) =>
    {
        int count = (int)Math.Min(chunk, length - offset);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(count);
        try
        {
            int read = 0;
            while (read < count)
            {
                read += RandomAccess.Read(handle, buffer.AsSpan(read, count - read), offset + read);
            }
            using var content = new MemoryStream(buffer, 0, count, writable: false);
            await blob.UploadPagesAsync(content, offset, new PageBlobUploadPagesOptions(), ct);
            Interlocked.Add(ref total, count);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    });
    sent = total;
}
Console.WriteLine($"{mode} bytes_sent={sent} seconds={clock.Elapsed.TotalSeconds:0.00}");
return 0;

/// <summary>Each phase's duration: the publisher's reports carry the time since the phase began.</summary>
internal sealed class PhaseTimes : IProgress<PublishProgress>
{
    public SortedDictionary<PublishPhase, TimeSpan> Last { get; } = [];

    public void Report(PublishProgress value)
    {
        lock (Last)
        {
            Last[value.Phase] = value.Elapsed;
        }
    }
}
