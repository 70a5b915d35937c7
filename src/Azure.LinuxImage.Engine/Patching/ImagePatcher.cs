using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.Guest.Initramfs;
using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Patching;

public sealed record ImagePatchResult(PatchApplyResult Applied, IReadOnlyList<string> Actions, IReadOnlyList<Diagnostic> Diagnostics);

/// <summary>
/// The patch step: mounts the guest of the unpatched image over a copy-on-write overlay, runs the
/// guest configuration steps there, and applies only the bytes that changed to the output image
/// (see <see cref="PatchApplier"/>). The source disk is never involved.
/// </summary>
public static class ImagePatcher
{
    public static ImagePatchResult Patch(string imagePath, string journalPath, GuestPatchOptions options)
    {
        // Per-part results are kept next to the journal, in the build's intermediate folder.
        string cacheDirectory = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(journalPath))!, "patch-cache");
        var actions = new List<string>();
        var diagnostics = new List<Diagnostic>();
        string image = Path.GetFullPath(imagePath);
        var applied = PatchApplier.Apply(image, journalPath, baseView =>
        {
            actions.Clear();
            diagnostics.Clear();
            var overlay = new DiskOverlay(baseView);
            try
            {
                var mounts = StepTimings.Measure("patch: open guest", () => GuestMounts.Open(overlay, image));
                // File times in the guest are the build's time, or SOURCE_DATE_EPOCH for reproducible images.
                var now = new DateTimeOffset(Conversion.FixedVhdConverter.BuildTimestamp());
                mounts.Clock = () => now;
                diagnostics.AddRange(mounts.Diagnostics);
                var result = StepTimings.Measure("patch: guest", () => GuestPatcher.Patch(mounts, options, cacheDirectory));
                actions.Add($"guest: {result.Distribution.PrettyName} ({result.Distribution.Family}, {result.Distribution.InitramfsGenerator})");
                actions.AddRange(result.Actions);
                diagnostics.AddRange(result.Diagnostics);
            }
            catch (LinuxImageException e)
            {
                throw e.InGuest(image);
            }
            return StepTimings.Measure("patch: overlay changes", overlay.GetChanges);
        });
        return new ImagePatchResult(applied, actions, [.. diagnostics.Select(d => d.InGuest(image))]);
    }

    /// <summary>
    /// Starts the patch step's slowest part (extending the initramfs) on the source disk, on a
    /// thread of its own, while the conversion copies that disk: the converted image holds the same
    /// bytes, so the patch step finds the result in <paramref name="cacheDirectory"/> by its inputs.
    /// Only a head start: on a machine without a core to spare it does nothing, and whatever goes
    /// wrong here (a guest the patch step will report on itself) is the returned reason, never a
    /// failure of the conversion. Nothing is written to the disk. A patch of the same cache in this
    /// process waits for it (a process that runs the next steps need not wait at the conversion's end).
    /// </summary>
    public static Task<string?> WarmCacheInBackground(string sourceDisk, DiskFormat? format, string cacheDirectory, GuestPatchOptions options)
    {
        if (Environment.ProcessorCount < 2)
        {
            return Task.FromResult<string?>("one processor: the conversion gets it alone");
        }
        var warmUp = Task.Factory.StartNew(() =>
        {
            StepTimings.NameThreadPhases("warm-up: ");
            try
            {
                using var disk = DiskImageOpener.Open(sourceDisk, format);
                var mounts = GuestMounts.Open(new DiskOverlay(disk), sourceDisk);
                GuestPatcher.WarmInitramfsCache(mounts, options, cacheDirectory);
                return null;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return e.Message;
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        InitramfsPatchCache.RegisterWarmUp(cacheDirectory, warmUp);
        return warmUp;
    }
}
