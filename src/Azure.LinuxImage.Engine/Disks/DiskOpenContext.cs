using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Disks;

/// <summary>
/// State shared while a chain of differencing disks is opened: guards against loops and absurd
/// depths, and collects warnings from every level.
/// </summary>
public sealed class DiskOpenContext
{
    public const int MaxChainDepth = 64;

    private readonly HashSet<string> chain = new(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    public List<Diagnostic> Warnings { get; } = [];

    public int Depth => chain.Count;

    internal void Enter(string path, string? child)
    {
        if (!chain.Add(path))
        {
            throw new LinuxImageException(DiagnosticCatalog.ParentChainInvalid, child ?? path, child ?? path,
                $"the chain of parents loops back to '{path}'");
        }
        if (chain.Count > MaxChainDepth)
        {
            throw new LinuxImageException(DiagnosticCatalog.ParentChainInvalid, child ?? path, child ?? path,
                $"more than {MaxChainDepth} levels of parent disks");
        }
    }

    /// <summary>
    /// Opens a parent (backing) disk named by a child. <paramref name="candidates"/> are the paths the
    /// child's metadata names, tried in order (relative ones against the child's folder).
    /// </summary>
    public IDiskImage OpenParent(string childPath, IEnumerable<string> candidates, DiskFormat? forcedFormat = null)
    {
        string folder = Path.GetDirectoryName(childPath) ?? ".";
        var tried = new List<string>();
        foreach (string candidate in candidates)
        {
            if (string.IsNullOrWhiteSpace(candidate))
            {
                continue;
            }
            string full;
            try
            {
                full = Path.GetFullPath(Path.IsPathRooted(candidate) ? candidate : Path.Combine(folder, candidate));
            }
            catch (ArgumentException)
            {
                continue;
            }
            tried.Add(full);
            if (File.Exists(full))
            {
                return DiskImageOpener.Open(full, forcedFormat, this, childPath);
            }
        }
        throw new LinuxImageException(DiagnosticCatalog.ParentDiskMissing, childPath, childPath,
            tried.Count == 0 ? "the disk names no parent location" : "tried " + string.Join(", ", tried.Select(t => $"'{t}'")));
    }
}
