using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks;

/// <summary>
/// A source disk in any container format, seen as its virtual disk. Readers validate every offset
/// taken from the file before using it and report damage as <see cref="LinuxImageException"/>.
/// </summary>
public interface IDiskImage : IReadableVolume, IDisposable
{
    DiskFormat Format { get; }

    /// <summary>The file this disk was opened from (the top of a chain of parents).</summary>
    string Path { get; }

    /// <summary>Warnings found while opening (e.g. an ambiguous CHS-rounded size).</summary>
    IReadOnlyList<Diagnostic> Warnings { get; }

    /// <summary>
    /// Every file this disk reads from (the image, its parents, extent files): the convert step's
    /// inputs for up-to-date checking.
    /// </summary>
    IReadOnlyList<string> Files { get; }

    /// <summary>
    /// Ascending, non-overlapping ranges that may hold non-zero data; everything else is zero. A
    /// reader that cannot tell reports the whole disk.
    /// </summary>
    IEnumerable<DiskExtent> GetAllocatedExtents();
}
