using System.Threading.Channels;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Engine.Disks.Vhd;
using Azure.LinuxImage.Engine.IO;
using Microsoft.Win32.SafeHandles;

namespace Azure.LinuxImage.Engine.Conversion;

public sealed record ConversionProgress(long BytesDone, long BytesTotal);

public sealed record ConvertOptions(string SourcePath, string OutputPath)
{
    public DiskFormat? SourceFormat { get; init; }

    public IProgress<ConversionProgress>? Progress { get; init; }

    /// <summary>Files that describe the previous output (patch journal, image state): removed before the new image replaces it.</summary>
    public IReadOnlyList<string> StaleFiles { get; init; } = [];

    public string? StatePath { get; init; }

    public DateTime? Timestamp { get; init; }

    /// <summary>
    /// Called once the source is open, before anything is written: the caller reports the source's
    /// warnings here and may stop the conversion (by throwing) when they count as errors.
    /// </summary>
    public Action<IDiskImage>? SourceOpened { get; init; }
}

public sealed record ConversionResult(
    DiskFormat SourceFormat,
    long SourceSize,
    long VirtualSize,
    long DataBytesRead,
    long DataBytesWritten,
    Guid UniqueId,
    IReadOnlyList<string> InputFiles,
    IReadOnlyList<Diagnostic> Warnings);

/// <summary>
/// Turns a disk of any readable format into a fixed VHD whose virtual size is the source size
/// rounded up to a whole MiB (R1, R2, R3, R15). Only allocated source ranges are read and only
/// non-zero data is written, so the output is as sparse as the source. The image is built under a
/// temporary name and renamed into place only when complete: a build killed at any moment leaves
/// either the old image or none.
/// </summary>
public static class FixedVhdConverter
{
    private const int ChunkSize = 1024 * 1024;
    private const int ZeroCheckGranularity = 64 * 1024;
    private const int BuffersInFlight = 4;

    public static ConversionResult Convert(ConvertOptions options, CancellationToken cancellationToken = default)
    {
        using var source = DiskImageOpener.Open(options.SourcePath, options.SourceFormat);
        string output = Path.GetFullPath(options.OutputPath);
        if (source.Files.Any(f => string.Equals(Path.GetFullPath(f), output, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal)))
        {
            throw new LinuxImageException(DiagnosticCatalog.SourceIsOutput, source.Path, source.Path);
        }
        options.SourceOpened?.Invoke(source);
        long virtualSize = ImageSizing.TargetSize(source.Length, null);
        var uniqueId = Guid.NewGuid();
        var footer = VhdFooter.CreateFixed(virtualSize, uniqueId, options.Timestamp ?? BuildTimestamp());

        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        string temp = AtomicFile.TempNameFor(output);
        long read;
        long written;
        long needed = VhdFooter.Size;
        try
        {
            using (var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.None, 0))
            {
                RandomAccess.SetLength(handle, virtualSize + VhdFooter.Size);
                using var timed = StepTimings.Measure("convert: data");
                (read, written) = CopyData(source, handle, options.Progress, n => needed += n, cancellationToken);
                RandomAccess.Write(handle, footer.ToBytes(), virtualSize);
                // No fsync of the image: a killed build cannot leave it half-written (the rename comes
                // last and the kernel keeps what was written), and flushing gigabytes would double the
                // conversion time, as it would for any compiler output. Small state files are flushed.
            }
            // The previous image's journal and state must go before it is replaced: a journal applied
            // to a new image would write old bytes into it.
            foreach (string stale in options.StaleFiles)
            {
                File.Delete(stale);
            }
            File.Move(temp, output, overwrite: true);
        }
        catch (IOException e) when (DiskFull.Is(e))
        {
            AtomicFile.TryDelete(temp);
            throw DiskFull.Exception(output, needed, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            AtomicFile.TryDelete(temp);
            throw new LinuxImageException(DiagnosticCatalog.OutputWriteFailed, output, e, output, e.Message);
        }
        catch
        {
            AtomicFile.TryDelete(temp);
            throw;
        }
        options.Progress?.Report(new ConversionProgress(read, read));
        if (options.StatePath is not null)
        {
            new ImageState { SourceSize = source.Length, VirtualSize = virtualSize, UniqueId = uniqueId }.Save(options.StatePath);
        }
        return new ConversionResult(source.Format, source.Length, virtualSize, read, written, uniqueId, source.Files, source.Warnings);
    }

    /// <summary>SOURCE_DATE_EPOCH makes the footer's timestamp reproducible, as reproducible-builds tools expect.</summary>
    public static DateTime BuildTimestamp()
    {
        string? epoch = Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH");
        return long.TryParse(epoch, out long seconds) && seconds >= 0
            ? DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime
            : DateTime.UtcNow;
    }

    /// <summary>
    /// Reads allocated extents on this thread while a second one writes, so the source and the
    /// output disk are busy at the same time. A failing writer (a full disk) cancels the reader,
    /// which may be waiting for a free buffer or a place in the bounded channel that the writer
    /// would never make: without that, a full disk hung the build forever.
    /// </summary>
    private static (long Read, long Written) CopyData(IDiskImage source, SafeFileHandle output, IProgress<ConversionProgress>? progress, Action<long> sized, CancellationToken cancellationToken)
    {
        var extents = DiskExtents.Clip(DiskExtents.Coalesce(source.GetAllocatedExtents()), source.Length).ToList();
        long total = extents.Sum(e => e.Length);
        sized(total);
        var channel = Channel.CreateBounded<(byte[] Buffer, long Offset, int Length)>(BuffersInFlight);
        // A fixed set of buffers passed back and forth: allocating a fresh 4 MiB array per chunk
        // costs a page fault per 4 KiB, which measured as most of the conversion's time.
        var free = Channel.CreateUnbounded<byte[]>();
        for (int i = 0; i < BuffersInFlight + 2; i++)
        {
            free.Writer.TryWrite(GC.AllocateUninitializedArray<byte>(ChunkSize, pinned: true));
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The disk writes the image while the copy goes on, instead of all of it at the patch's fsync.
        using var writeback = EarlyWriteback.TryStart(output);
        long written = 0;
        var writer = Task.Run(async () =>
        {
            try
            {
                await foreach (var (buffer, offset, length) in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    try
                    {
                        written += WriteNonZero(output, buffer.AsSpan(0, length), offset);
                        writeback?.Finished(offset + length);
                    }
                    finally
                    {
                        free.Writer.TryWrite(buffer);
                    }
                }
            }
            catch
            {
                await stop.CancelAsync().ConfigureAwait(false);
                throw;
            }
        }, CancellationToken.None);

        long read = 0;
        // Reported at once, so a terminal shows how much there is to copy (and a fast copy still shows progress start to end).
        progress?.Report(new ConversionProgress(0, total));
        var lastReport = Environment.TickCount64;
        // Plain data ranges are cloned (reflink) or copied in the kernel where the file system can.
        var cloner = FileRangeCloner.TryCreate(source, output);
        try
        {
            foreach (var extent in extents)
            {
                for (long at = extent.Offset; at < extent.End;)
                {
                    stop.Token.ThrowIfCancellationRequested();
                    // Chunks aligned to the chunk size keep reads and writes on block boundaries.
                    long chunkEnd = Math.Min(extent.End, ((at / ChunkSize) + 1) * ChunkSize);
                    int length = (int)(chunkEnd - at);
                    if (cloner?.TryTransfer(at, length) == true)
                    {
                        writeback?.Finished(chunkEnd);
                    }
                    else
                    {
                        byte[] buffer = free.Reader.ReadAsync(stop.Token).AsTask().GetAwaiter().GetResult();
                        source.ReadAt(at, buffer.AsSpan(0, length));
                        channel.Writer.WriteAsync((buffer, at, length), stop.Token).AsTask().GetAwaiter().GetResult();
                    }
                    read += length;
                    at = chunkEnd;
                    if (progress is not null && Environment.TickCount64 - lastReport >= 1000)
                    {
                        lastReport = Environment.TickCount64;
                        progress.Report(new ConversionProgress(read, total));
                    }
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Only a failed writer cancels without the caller asking: its exception is thrown below.
        }
        catch
        {
            // The writer drains what is queued and ends; the handle must not be closed under it.
            channel.Writer.TryComplete();
            try
            {
                writer.Wait(CancellationToken.None);
            }
            catch (AggregateException)
            {
            }
            throw;
        }
        channel.Writer.TryComplete();
        writer.GetAwaiter().GetResult();
        StepTimings.Note($"convert: {read} bytes of data, {cloner?.Cloned ?? 0} shared with the source (FICLONERANGE), {cloner?.Copied ?? 0} copied in the kernel (copy_file_range), {written} written from user space");
        return (read, written + (cloner?.Cloned ?? 0) + (cloner?.Copied ?? 0));
    }

    private static long WriteNonZero(SafeFileHandle output, ReadOnlySpan<byte> data, long offset)
    {
        long written = 0;
        int position = 0;
        while (position < data.Length)
        {
            // Skip zero runs; write runs of non-zero granules in one call.
            int granule = Math.Min(ZeroCheckGranularity - (int)((offset + position) % ZeroCheckGranularity), data.Length - position);
            if (!data.Slice(position, granule).ContainsAnyExcept((byte)0))
            {
                position += granule;
                continue;
            }
            int runStart = position;
            position += granule;
            while (position < data.Length)
            {
                int g = Math.Min(ZeroCheckGranularity, data.Length - position);
                if (!data.Slice(position, g).ContainsAnyExcept((byte)0))
                {
                    break;
                }
                position += g;
            }
            RandomAccess.Write(output, data[runStart..position], offset + runStart);
            written += position - runStart;
        }
        return written;
    }
}
