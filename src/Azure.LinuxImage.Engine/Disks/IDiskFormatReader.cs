using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks;

/// <summary>
/// One container format: recognises its files by content and opens them. New formats plug in by
/// adding an implementation to <see cref="DiskImageOpener.Readers"/>.
/// </summary>
public interface IDiskFormatReader
{
    /// <summary>A name for messages and for forcing the format ("vhd", "qcow2", ...).</summary>
    string Name { get; }

    /// <summary>
    /// True when the file is of this format. <paramref name="head"/> holds the file's first bytes
    /// (up to 64 KiB, less for a smaller file); readers that need the end read it from <paramref name="file"/>.
    /// </summary>
    bool Probe(SourceFile file, ReadOnlySpan<byte> head);

    /// <summary>Opens the file; takes ownership of <paramref name="file"/>.</summary>
    IDiskImage Open(SourceFile file, DiskOpenContext context);
}
