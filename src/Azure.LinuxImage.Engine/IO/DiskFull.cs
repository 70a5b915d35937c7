using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.IO;

/// <summary>
/// "No space left on device" told apart from other write failures, so a full disk is reported as
/// LIMG0005 with the space that was needed rather than as a bare I/O error.
/// </summary>
public static class DiskFull
{
    private const int Enospc = 28;
    private const int Edquot = 122;
    private const int ErrorHandleDiskFull = unchecked((int)0x80070027);
    private const int ErrorDiskFull = unchecked((int)0x80070070);

    /// <summary>.NET puts the raw errno in HResult on Unix and the Win32 error as an HRESULT on Windows.</summary>
    public static bool Is(Exception e) =>
        e is IOException io && (OperatingSystem.IsWindows()
            ? io.HResult is ErrorDiskFull or ErrorHandleDiskFull
            : io.HResult is Enospc or Edquot);

    /// <summary>The free space of the volume that holds <paramref name="path"/>, or null when the system will not say.</summary>
    public static long? FreeSpace(string path)
    {
        try
        {
            string? dir = Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path));
            return dir is null ? null : new DriveInfo(dir).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>LIMG0005 for a full volume: how much the output needed and how much there was.</summary>
    public static LinuxImageException Exception(string output, long? needed, Exception inner)
    {
        long? free = FreeSpace(output);
        string detail = "no space left on device"
            + (needed is long n ? $"; it needs up to {Format(n)}" : string.Empty)
            + (free is long f ? $" and {Format(f)} is free there" : string.Empty)
            + ". Free some space or move the output (OutDir, IntermediateOutputPath) to a larger volume.";
        return new LinuxImageException(DiagnosticCatalog.OutputWriteFailed, output, inner, output, detail);
    }

    private static string Format(long bytes) =>
        bytes >= 1024L * 1024 * 1024 ? $"{bytes / (1024.0 * 1024 * 1024):0.##} GiB ({bytes} bytes)"
        : bytes >= 1024 * 1024 ? $"{bytes / (1024.0 * 1024):0.#} MiB ({bytes} bytes)"
        : $"{bytes} bytes";
}
