using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks.Vhd;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Conversion;

public sealed record AlignResult(long PreviousSize, long VirtualSize)
{
    public bool Changed => PreviousSize != VirtualSize;
}

/// <summary>
/// Gives an existing fixed VHD the virtual size the project asks for (ImageSizeMiB, or the source
/// size rounded up to a MiB) in place: only the footer moves, the data is never copied. The size
/// being changed to is recorded first, so an interrupted resize is completed by the next run
/// instead of leaving an old footer inside the disk.
/// </summary>
public static class FixedVhdAligner
{
    public static AlignResult Align(string imagePath, string statePath, long? imageSizeMiB)
    {
        string image = Path.GetFullPath(imagePath);
        var state = ImageState.Load(statePath);
        if (state is null || !File.Exists(image))
        {
            throw new LinuxImageException(DiagnosticCatalog.ImageNotBuilt, image, image);
        }
        long target = ImageSizing.TargetSize(state.SourceSize, imageSizeMiB);
        long current = state.VirtualSize;
        if (target == current && state.PendingVirtualSize is null)
        {
            VerifyFooter(image, current, state.UniqueId);
            return new AlignResult(current, current);
        }
        state = state with { PendingVirtualSize = target };
        state.Save(statePath);
        try
        {
            using var handle = File.OpenHandle(image, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            // Only bytes the disk never had may be cut off: the region between the two sizes must be empty.
            if (target < current)
            {
                foreach (var (offset, length) in SparseFiles.DataRanges(handle, target, current))
                {
                    EnsureZero(handle, image, offset, length);
                }
            }
            var zeros = new byte[VhdFooter.Size];
            if (current + VhdFooter.Size <= RandomAccess.GetLength(handle))
            {
                RandomAccess.Write(handle, zeros, current);
            }
            RandomAccess.SetLength(handle, target + VhdFooter.Size);
            var footer = VhdFooter.CreateFixed(target, state.UniqueId, FixedVhdConverter.BuildTimestamp());
            RandomAccess.Write(handle, footer.ToBytes(), target);
            RandomAccess.FlushToDisk(handle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LinuxImageException(DiagnosticCatalog.OutputWriteFailed, image, e, image, e.Message);
        }
        (state with { VirtualSize = target, PendingVirtualSize = null }).Save(statePath);
        return new AlignResult(current, target);
    }

    private static void VerifyFooter(string image, long size, Guid uniqueId)
    {
        using var file = SourceFile.Open(image);
        var footer = VhdReader.ReadFooter(file);
        if (file.Length != size + VhdFooter.Size || (long)footer.CurrentSize != size || footer.UniqueId != uniqueId)
        {
            throw new LinuxImageException(DiagnosticCatalog.ImageNotBuilt, image, image);
        }
    }

    private static void EnsureZero(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string image, long offset, long length)
    {
        var buffer = new byte[1024 * 1024];
        for (long at = offset; at < offset + length; at += buffer.Length)
        {
            int n = (int)Math.Min(buffer.Length, offset + length - at);
            RandomAccess.Read(handle, buffer.AsSpan(0, n), at);
            if (buffer.AsSpan(0, n).ContainsAnyExcept((byte)0))
            {
                throw new LinuxImageException(DiagnosticCatalog.ImageSizeTooSmall, image, (offset + length) / ImageSizing.MiB, at, ImageSizing.RoundUpToMiB(at + 1) / ImageSizing.MiB);
            }
        }
    }
}
