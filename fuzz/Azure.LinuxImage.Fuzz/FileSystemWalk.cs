using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Fuzz;

/// <summary>
/// What the file-system targets do with an input: open it through the seam (as GuestMounts does),
/// list every directory, stat and look up every entry, read every file, link and xattr, within a
/// budget of nodes and bytes so that a huge but valid tree is not taken for a hang.
/// </summary>
internal static class FileSystemWalk
{
    private const int MaxNodes = 20_000;
    private const long MaxBytes = 64L * 1024 * 1024;

    /// <summary>Opens the volume once per set of mount options and walks each tree.</summary>
    public static void OpenAndWalk(IFileSystemType type, IReadableVolume volume, string source, params string[] mountOptions)
    {
        int nodes = 0;
        long budget = MaxBytes;
        foreach (string options in mountOptions)
        {
            var fs = type.Open(volume, source, options);
            _ = fs.Space;
            _ = fs.WriteRefusal;
            Walk(fs, fs.RootNode, 0, ref nodes, ref budget);
        }
    }

    private static void Walk(IFileSystem fs, ulong directory, int depth, ref int nodes, ref long budget)
    {
        if (depth > 64)
        {
            return;
        }
        foreach (var entry in fs.ListDirectory(directory))
        {
            if (++nodes > MaxNodes || budget <= 0)
            {
                return;
            }
            var info = fs.Stat(entry.Node);
            fs.ReadXattrs(entry.Node);
            fs.Lookup(directory, entry.Name);
            switch (info.Kind)
            {
                case FileSystemNodeKind.File:
                    budget -= fs.ReadFile(entry.Node).Length;
                    break;
                case FileSystemNodeKind.Symlink:
                    fs.ReadSymlink(entry.Node);
                    break;
                case FileSystemNodeKind.Directory:
                    Walk(fs, entry.Node, depth + 1, ref nodes, ref budget);
                    break;
                default:
                    break;
            }
        }
    }
}
