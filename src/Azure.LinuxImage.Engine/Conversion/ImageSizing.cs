using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Conversion;

/// <summary>The virtual size rules of R2/R15: a whole number of MiB, rounded up, never shrinking the data.</summary>
public static class ImageSizing
{
    public const long MiB = 1024 * 1024;

    /// <summary>VHD sizes are 64-bit, but a size this large cannot be a real disk and would overflow offset arithmetic.</summary>
    public const long MaxVirtualSize = 64L * 1024 * 1024 * MiB; // 64 TiB

    public static long RoundUpToMiB(long bytes) => checked((bytes + MiB - 1) / MiB * MiB);

    public static long TargetSize(long sourceSize, long? imageSizeMiB)
    {
        long aligned = RoundUpToMiB(sourceSize);
        if (imageSizeMiB is not { } mib)
        {
            return Check(aligned);
        }
        if (mib <= 0 || mib > MaxVirtualSize / MiB)
        {
            throw new LinuxImageException(DiagnosticCatalog.ImageSizeUnsupported, null, mib * MiB, $"between 1 MiB and {MaxVirtualSize / MiB} MiB");
        }
        long requested = mib * MiB;
        if (requested < sourceSize)
        {
            throw new LinuxImageException(DiagnosticCatalog.ImageSizeTooSmall, null, mib, sourceSize, aligned / MiB);
        }
        return requested;
    }

    private static long Check(long size) => size is > 0 and <= MaxVirtualSize
        ? size
        : throw new LinuxImageException(DiagnosticCatalog.ImageSizeUnsupported, null, size, $"between 1 MiB and {MaxVirtualSize / MiB} MiB");
}
