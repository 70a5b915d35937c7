using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.FileSystems.Xfs;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Fuzz;

/// <summary>
/// The XFS reader as a fuzz target: probe, identify, open through the seam and walk the whole tree.
/// v5 metadata carries CRCs, so most random damage to v5 seeds stops at the check; the v4 seeds
/// (no CRCs) take the damage straight into the parsers of AG headers, inodes, btrees and directories.
/// </summary>
internal static class XfsTarget
{
    public static string Exercise(string path)
    {
        using var volume = FileVolume.OpenRead(path);
        IFileSystemType type = new XfsFileSystemType();
        bool probed = type.Probe(volume);
        type.Identify(volume);
        FileSystemWalk.OpenAndWalk(type, volume, path, string.Empty);
        return probed ? "read" : "read-unprobed";
    }
}
