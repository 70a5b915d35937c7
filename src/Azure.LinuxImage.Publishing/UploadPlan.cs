using System.Buffers;
using System.Security.Cryptography;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks.Vhd;
using Azure.LinuxImage.Engine.IO;
using Microsoft.Win32.SafeHandles;

namespace Azure.LinuxImage.Publishing;

/// <summary>A byte range of the image, 512-aligned, that one Put Page request writes.</summary>
public readonly record struct PageRange(long Offset, long Length)
{
    public long End => Offset + Length;

    public override string ToString() => $"[{Offset}, {End})";
}

/// <summary>
/// What to upload: the ranges of the image that hold non-zero data, in 512-byte pages, split at the
/// service's 4 MiB limit for one page write, and the MD5 of the whole image. Holes are never read
/// (the file system says where they are) and zero pages inside data regions are left out, because a
/// new page blob already reads as zeros everywhere.
/// </summary>
public sealed class UploadPlan
{
    public const int PageSize = 512;
    public const int MaxWriteSize = 4 * 1024 * 1024;
    private const long MiB = 1024 * 1024;

    private UploadPlan(string path, long length, DateTime lastWriteUtc, IReadOnlyList<PageRange> ranges, byte[] md5)
    {
        Path = path;
        Length = length;
        LastWriteUtc = lastWriteUtc;
        Ranges = ranges;
        ContentMd5 = md5;
        DataBytes = ranges.Sum(r => r.Length);
    }

    public string Path { get; }

    /// <summary>The image's full length, data and footer: the page blob's size.</summary>
    public long Length { get; }

    public DateTime LastWriteUtc { get; }

    /// <summary>In ascending order, disjoint, each at most <see cref="MaxWriteSize"/> bytes.</summary>
    public IReadOnlyList<PageRange> Ranges { get; }

    public long DataBytes { get; }

    public byte[] ContentMd5 { get; }

    public string ContentMd5Base64 => Convert.ToBase64String(ContentMd5);

    /// <summary>
    /// Checks that <paramref name="path"/> is a fixed VHD Azure accepts and reads its data.
    /// <paramref name="scannedTo"/> gets the offset the scan has reached; holes pass at no cost.
    /// </summary>
    public static UploadPlan Create(string path, IProgress<long>? scannedTo = null, CancellationToken cancellationToken = default)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new LinuxImageException(DiagnosticCatalog.ImageNotBuilt, full, full);
        }
        using var handle = OpenRead(full);
        long length = RandomAccess.GetLength(handle);
        CheckFixedVhd(full, handle, length);
        DateTime lastWrite = File.GetLastWriteTimeUtc(full);

        var ranges = new List<PageRange>();
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        long hashedTo = 0;
        long runStart = -1;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxWriteSize);
        try
        {
            foreach (var (start, end) in AlignedDataRegions(handle, length))
            {
                HashZeros(md5, start - hashedTo);
                EndRun(ranges, ref runStart, hashedTo);
                for (long offset = start; offset < end; offset += MaxWriteSize)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    int count = (int)Math.Min(MaxWriteSize, end - offset);
                    ReadExactly(handle, full, buffer.AsSpan(0, count), offset);
                    md5.AppendData(buffer, 0, count);
                    for (int page = 0; page < count; page += PageSize)
                    {
                        bool zero = !buffer.AsSpan(page, PageSize).ContainsAnyExcept((byte)0);
                        long pageOffset = offset + page;
                        if (zero)
                        {
                            EndRun(ranges, ref runStart, pageOffset);
                        }
                        else if (runStart < 0)
                        {
                            runStart = pageOffset;
                        }
                    }
                    scannedTo?.Report(offset + count);
                }
                hashedTo = end;
            }
            EndRun(ranges, ref runStart, hashedTo);
            HashZeros(md5, length - hashedTo);
            scannedTo?.Report(length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return new UploadPlan(full, length, lastWrite, ranges, md5.GetHashAndReset());
    }

    /// <summary>Ranges of <see cref="Ranges"/> not entirely inside <paramref name="present"/> (sorted, merged).</summary>
    public IReadOnlyList<PageRange> Missing(IReadOnlyList<PageRange> present)
    {
        var missing = new List<PageRange>();
        int i = 0;
        foreach (var range in Ranges)
        {
            while (i < present.Count && present[i].End <= range.Offset)
            {
                i++;
            }
            bool covered = i < present.Count && present[i].Offset <= range.Offset && present[i].End >= range.End;
            if (!covered)
            {
                missing.Add(range);
            }
        }
        return missing;
    }

    /// <summary>Sorts and joins touching or overlapping ranges, the form the service reports them in.</summary>
    public static List<PageRange> Merge(IEnumerable<PageRange> ranges)
    {
        var merged = new List<PageRange>();
        foreach (var r in ranges.Where(r => r.Length > 0).OrderBy(r => r.Offset))
        {
            if (merged.Count > 0 && merged[^1].End >= r.Offset)
            {
                var last = merged[^1];
                merged[^1] = new PageRange(last.Offset, Math.Max(last.End, r.End) - last.Offset);
            }
            else
            {
                merged.Add(r);
            }
        }
        return merged;
    }

    internal static SafeFileHandle OpenRead(string path)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LinuxImageException(DiagnosticCatalog.SourceDiskUnreadable, path, e, path, e.Message);
        }
    }

    internal static void ReadExactly(SafeFileHandle handle, string path, Span<byte> buffer, long offset)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n;
            try
            {
                n = RandomAccess.Read(handle, buffer[done..], offset + done);
            }
            catch (IOException e)
            {
                // A local read error must not pass for a network fault further up.
                throw new LinuxImageException(DiagnosticCatalog.SourceDiskUnreadable, path, e, path, e.Message);
            }
            if (n <= 0)
            {
                throw new LinuxImageException(DiagnosticCatalog.PublishImageChanged, path, path);
            }
            done += n;
        }
    }

    /// <summary>Only the footer check of <see cref="Create"/>: cheap, so it can come before anything slow.</summary>
    public static void CheckFixedVhd(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new LinuxImageException(DiagnosticCatalog.ImageNotBuilt, full, full);
        }
        using var handle = OpenRead(full);
        CheckFixedVhd(full, handle, RandomAccess.GetLength(handle));
    }

    private static void CheckFixedVhd(string path, SafeFileHandle handle, long length)
    {
        if (length < VhdFooter.Size + MiB || length % PageSize != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.PublishImageNotFixedVhd, path, path,
                $"its length ({length} bytes) is not a whole number of MiB plus a 512-byte VHD footer");
        }
        Span<byte> bytes = stackalloc byte[VhdFooter.Size];
        ReadExactly(handle, path, bytes, length - VhdFooter.Size);
        if (!VhdFooter.HasCookie(bytes))
        {
            throw new LinuxImageException(DiagnosticCatalog.PublishImageNotFixedVhd, path, path, "it does not end with a VHD footer");
        }
        var footer = VhdFooter.Parse(bytes);
        uint computed = VhdFooter.ComputeChecksum(bytes);
        if (footer.Checksum != computed)
        {
            throw new LinuxImageException(DiagnosticCatalog.VhdFooterChecksum, path, path, footer.Checksum, computed);
        }
        if (footer.DiskType != VhdDiskType.Fixed)
        {
            throw new LinuxImageException(DiagnosticCatalog.PublishImageNotFixedVhd, path, path,
                $"its VHD footer says disk type {footer.DiskType}; Azure accepts only fixed VHDs");
        }
        long dataSize = length - VhdFooter.Size;
        if ((long)footer.CurrentSize != dataSize)
        {
            throw new LinuxImageException(DiagnosticCatalog.PublishImageNotFixedVhd, path, path,
                $"its footer states {footer.CurrentSize} bytes but the file holds {dataSize} bytes of data");
        }
        if (dataSize % MiB != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.PublishImageNotFixedVhd, path, path,
                $"its virtual size of {dataSize} bytes is not a whole number of MiB, which Azure rejects");
        }
    }

    /// <summary>The file's data regions widened to whole pages and joined where widening made them touch.</summary>
    private static IEnumerable<(long Start, long End)> AlignedDataRegions(SafeFileHandle handle, long length)
    {
        long pendingStart = -1;
        long pendingEnd = -1;
        foreach (var (offset, count) in SparseFiles.DataRanges(handle, 0, length))
        {
            long start = offset / PageSize * PageSize;
            long end = Math.Min(length, (offset + count + PageSize - 1) / PageSize * PageSize);
            if (pendingStart >= 0 && start <= pendingEnd)
            {
                pendingEnd = Math.Max(pendingEnd, end);
                continue;
            }
            if (pendingStart >= 0)
            {
                yield return (pendingStart, pendingEnd);
            }
            pendingStart = start;
            pendingEnd = end;
        }
        if (pendingStart >= 0)
        {
            yield return (pendingStart, pendingEnd);
        }
    }

    private static void EndRun(List<PageRange> ranges, ref long runStart, long runEnd)
    {
        if (runStart < 0)
        {
            return;
        }
        for (long offset = runStart; offset < runEnd; offset += MaxWriteSize)
        {
            ranges.Add(new PageRange(offset, Math.Min(MaxWriteSize, runEnd - offset)));
        }
        runStart = -1;
    }

    private static readonly byte[] Zeros = new byte[1024 * 1024];

    private static void HashZeros(IncrementalHash md5, long count)
    {
        while (count > 0)
        {
            int n = (int)Math.Min(count, Zeros.Length);
            md5.AppendData(Zeros, 0, n);
            count -= n;
        }
    }
}
