using Azure.LinuxImage.Engine.Conversion;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Patching;

public sealed record PatchApplyResult(int RangesChanged, long BytesWritten, long BytesRestored);

/// <summary>
/// Applies a patch to the output image in place, touching only the bytes that differ between the
/// previous patch and the new one. Protocol (each step durable before the next):
/// 1. the journal is rewritten to hold the originals of every range the old or new patch touches;
/// 2. ranges only the old patch touched get their originals back, the new patch's bytes are written;
/// 3. the journal is rewritten with the new patch's ranges only.
/// A crash anywhere leaves a journal that covers every byte that may have changed.
/// </summary>
public static class PatchApplier
{
    private const int SectorSize = 512;

    /// <param name="computeChanges">Given the unpatched image, returns the bytes the patch wants, as ascending non-overlapping ranges.</param>
    public static PatchApplyResult Apply(string imagePath, string journalPath, Func<IReadableVolume, IReadOnlyList<(long Offset, byte[] Data)>> computeChanges)
    {
        string image = Path.GetFullPath(imagePath);
        var (virtualSize, imageId) = ReadIdentity(image);
        var journal = PatchJournal.Load(journalPath);
        if (journal is not null && journal.ImageId != imageId)
        {
            throw new LinuxImageException(DiagnosticCatalog.PatchJournalDamaged, journalPath, journalPath,
                "it belongs to another build of the image; run a rebuild (dotnet build -t:Rebuild)");
        }
        using var volume = FileVolume.OpenReadWrite(image, virtualSize);
        // The image's earlier writes (the conversion's gigabytes) reach the disk while the patch is
        // computed; the fsync below then has only the patch's own sectors left to wait for.
        var earlierWrites = volume.FlushInBackground();
        var baseView = new JournalBaseView(volume, journal);
        IReadOnlyList<(long Offset, byte[] Data)> changes;
        try
        {
            changes = computeChanges(baseView);
        }
        catch
        {
            // The handle is closed on the way out; the flush must not run on a closed handle.
            WaitQuietly(earlierWrites);
            throw;
        }
        using var timed = StepTimings.Measure("patch: journal and apply");
        // Linux reports a write-back error to one fsync only: if the background one got it, it is thrown here.
        earlierWrites.GetAwaiter().GetResult();
        foreach (var (offset, data) in changes)
        {
            volume.CheckRange(offset, data.Length);
        }

        var oldRanges = journal?.Ranges.Select(r => (r.Offset, (long)r.Original.Length)) ?? [];
        var newRanges = changes.Select(c => (c.Offset, (long)c.Data.Length));
        var union = Merge(oldRanges.Concat(newRanges));
        // Both journals are computed before any write: once the image changes, the base view no
        // longer shows the originals of ranges the old journal did not cover.
        var finalJournal = new PatchJournal(imageId, changes.Select(c => (c.Offset, baseView.ReadBytes(c.Offset, c.Data.Length))).ToList());
        new PatchJournal(imageId, union.Select(r => (r.Offset, baseView.ReadBytes(r.Offset, (int)r.Length))).ToList()).Save(journalPath);

        // Each touched range ends as "unpatched bytes with the new patch laid over them"; only the
        // sectors that differ from what the image holds now are written, so re-applying the same
        // patch writes nothing and a changed setting writes only the sectors it changes.
        long restored = 0;
        long written = 0;
        int changedRanges = 0;
        foreach (var (offset, length) in union)
        {
            byte[] original = baseView.ReadBytes(offset, (int)length);
            byte[] wanted = (byte[])original.Clone();
            foreach (var (changeOffset, data) in changes)
            {
                long from = Math.Max(offset, changeOffset);
                long to = Math.Min(offset + length, changeOffset + data.Length);
                if (from < to)
                {
                    data.AsSpan((int)(from - changeOffset), (int)(to - from)).CopyTo(wanted.AsSpan((int)(from - offset)));
                }
            }
            byte[] current = volume.ReadBytes(offset, (int)length);
            bool any = false;
            for (int at = 0; at < wanted.Length; at += SectorSize)
            {
                int n = Math.Min(SectorSize, wanted.Length - at);
                var want = wanted.AsSpan(at, n);
                if (want.SequenceEqual(current.AsSpan(at, n)))
                {
                    continue;
                }
                volume.WriteAt(offset + at, want);
                any = true;
                if (want.SequenceEqual(original.AsSpan(at, n)))
                {
                    restored += n;
                }
                else
                {
                    written += n;
                }
            }
            changedRanges += any ? 1 : 0;
        }
        volume.Flush();
        finalJournal.Save(journalPath);
        return new PatchApplyResult(changedRanges, written, restored);
    }

    private static void WaitQuietly(Task task)
    {
        try
        {
            task.Wait();
        }
        catch (AggregateException)
        {
            // The patch's own failure is the one to report.
        }
    }

    /// <summary>The unpatched image for reading (validation of "before" state, diagnostics).</summary>
    public static (long VirtualSize, Guid UniqueId) ReadIdentity(string image)
    {
        using var file = SourceFile.Open(image);
        var footer = Disks.Vhd.VhdReader.ReadFooter(file);
        if (footer.DiskType != Disks.Vhd.VhdDiskType.Fixed || (long)footer.CurrentSize != file.Length - Disks.Vhd.VhdFooter.Size)
        {
            throw new LinuxImageException(DiagnosticCatalog.ImageNotBuilt, image, image);
        }
        return ((long)footer.CurrentSize, footer.UniqueId);
    }

    private static List<(long Offset, long Length)> Merge(IEnumerable<(long Offset, long Length)> ranges)
    {
        var result = new List<(long Offset, long Length)>();
        foreach (var (offset, length) in ranges.OrderBy(r => r.Offset))
        {
            if (result.Count > 0 && offset <= result[^1].Offset + result[^1].Length)
            {
                var last = result[^1];
                result[^1] = (last.Offset, Math.Max(last.Offset + last.Length, offset + length) - last.Offset);
            }
            else
            {
                result.Add((offset, length));
            }
        }
        return result;
    }
}
