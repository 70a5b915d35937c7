namespace Azure.LinuxImage.Engine.Guest;

/// <summary>
/// Holds every change of a patch run in memory, visible to later reads of the same run, and applies
/// them to the guest only on <see cref="Commit"/>. A step that fails after others planned their
/// edits therefore leaves the guest untouched ("nothing half-patched"). Changes are keyed by the
/// path as written; patch code writes to resolved paths (see <see cref="GuestFiles.Resolve"/>), so
/// links in the middle of a path are the inner file system's business.
/// </summary>
public sealed class StagedGuestFileSystem : IGuestFileSystem
{
    private sealed record Node(GuestFileKind Kind, byte[]? Content, int Mode, string? LinkTarget);

    private readonly IGuestFileSystem inner;
    private readonly Dictionary<string, Node?> overlay = new(StringComparer.Ordinal); // null value = deleted
    private readonly List<Action<IGuestFileSystem>> operations = [];

    public StagedGuestFileSystem(IGuestFileSystem inner) => this.inner = inner;

    public int PendingChanges => operations.Count;

    public void Commit()
    {
        foreach (var operation in operations)
        {
            operation(inner);
        }
        operations.Clear();
        overlay.Clear();
    }

    public GuestFileInfo? Stat(string path)
    {
        string key = GuestPath.Normalize(path);
        if (IsDeletedBelow(key))
        {
            return null;
        }
        if (overlay.TryGetValue(key, out var node))
        {
            return node is null ? null : new GuestFileInfo(key, node.Kind, node.Content?.Length ?? 0, node.Mode, 0, 0, node.LinkTarget);
        }
        return inner.Stat(key);
    }

    public byte[] ReadFile(string path)
    {
        string key = GuestFiles.Resolve(this, path) ?? GuestPath.Normalize(path);
        if (overlay.TryGetValue(key, out var node))
        {
            return node?.Content ?? throw new FileNotFoundException($"'{key}' was removed by this patch run.");
        }
        return inner.ReadFile(key);
    }

    public IReadOnlyList<GuestFileInfo> ListDirectory(string path)
    {
        string key = GuestFiles.Resolve(this, path) ?? GuestPath.Normalize(path);
        var entries = new Dictionary<string, GuestFileInfo>(StringComparer.Ordinal);
        if (!overlay.ContainsKey(key) && inner.Stat(key) is { Kind: GuestFileKind.Directory or GuestFileKind.Symlink })
        {
            foreach (var entry in inner.ListDirectory(key))
            {
                string child = GuestPath.Combine(key, GuestPath.GetFileName(entry.Path));
                entries[child] = entry with { Path = child };
            }
        }
        foreach (var (childPath, node) in overlay)
        {
            if (GuestPath.GetDirectory(childPath) != key || childPath == "/")
            {
                continue;
            }
            if (node is null)
            {
                entries.Remove(childPath);
            }
            else
            {
                entries[childPath] = new GuestFileInfo(childPath, node.Kind, node.Content?.Length ?? 0, node.Mode, 0, 0, node.LinkTarget);
            }
        }
        return [.. entries.Values.OrderBy(e => e.Path, StringComparer.Ordinal)];
    }

    public void WriteFile(string path, ReadOnlySpan<byte> content, int? mode = null) => WriteFileOwned(path, content.ToArray(), mode);

    /// <summary>
    /// <see cref="WriteFile"/> for a caller that hands its array over and never changes it again:
    /// staged without a copy (an initramfs is tens of MiB). One array serves later reads and the commit.
    /// </summary>
    public void WriteFileOwned(string path, byte[] content, int? mode = null)
    {
        string key = GuestPath.Normalize(path);
        var existing = Stat(key);
        int effectiveMode = mode ?? existing?.Mode ?? 0x1A4;
        overlay[key] = new Node(GuestFileKind.File, content, effectiveMode, null);
        operations.Add(fs => fs.WriteFile(key, content, mode));
    }

    public void CreateDirectory(string path, int mode = 0x1ED)
    {
        string key = GuestPath.Normalize(path);
        overlay[key] = new Node(GuestFileKind.Directory, null, mode, null);
        operations.Add(fs => fs.CreateDirectory(key, mode));
    }

    public void CreateSymlink(string path, string target)
    {
        string key = GuestPath.Normalize(path);
        overlay[key] = new Node(GuestFileKind.Symlink, null, 0x1FF, target);
        operations.Add(fs => fs.CreateSymlink(key, target));
    }

    public void Delete(string path)
    {
        string key = GuestPath.Normalize(path);
        if (Stat(key) is null)
        {
            throw new FileNotFoundException($"'{key}' does not exist.");
        }
        overlay[key] = null;
        operations.Add(fs => fs.Delete(key));
    }

    public void Rename(string from, string to)
    {
        string source = GuestPath.Normalize(from);
        string target = GuestPath.Normalize(to);
        var info = Stat(source) ?? throw new FileNotFoundException($"'{source}' does not exist.");
        if (info.Kind == GuestFileKind.Directory)
        {
            throw new NotSupportedException("Renaming a directory is not staged; no patch step needs it.");
        }
        overlay[target] = info.Kind == GuestFileKind.Symlink
            ? new Node(GuestFileKind.Symlink, null, info.Mode, info.LinkTarget)
            : new Node(info.Kind, ReadFile(source), info.Mode, null);
        overlay[source] = null;
        operations.Add(fs => fs.Rename(source, target));
    }

    private bool IsDeletedBelow(string key)
    {
        for (string parent = GuestPath.GetDirectory(key); parent != "/"; parent = GuestPath.GetDirectory(parent))
        {
            if (overlay.TryGetValue(parent, out var node))
            {
                return node is null;
            }
        }
        return false;
    }
}
