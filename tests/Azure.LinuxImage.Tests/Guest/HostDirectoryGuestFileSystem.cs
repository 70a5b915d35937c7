using Azure.LinuxImage.Engine.Guest;

namespace Azure.LinuxImage.Tests.Guest;

/// <summary>
/// A real root tree on the host (e.g. debootstrap's) seen as a guest, read-only: links resolve
/// against the tree's root, never the host's. Tests put a <see cref="StagedGuestFileSystem"/> on
/// top for writes, so the tree (a cache other tests share) is never changed.
/// </summary>
public sealed class HostDirectoryGuestFileSystem : IGuestFileSystem
{
    private readonly string root;

    public HostDirectoryGuestFileSystem(string root) => this.root = Path.GetFullPath(root);

    /// <summary>The host path of a guest path, links followed inside the root (the last one only when asked).</summary>
    private string? Host(string guestPath, bool followLast, int depth = 0)
    {
        if (depth > 40)
        {
            return null;
        }
        var parts = GuestPath.Normalize(guestPath).Split('/', StringSplitOptions.RemoveEmptyEntries);
        string current = "/";
        for (int i = 0; i < parts.Length; i++)
        {
            string next = GuestPath.Combine(current, parts[i]);
            string host = root + next;
            var info = new FileInfo(host);
            bool last = i == parts.Length - 1;
            if (info.LinkTarget is { } target && (!last || followLast))
            {
                string rest = string.Join('/', parts.Skip(i + 1));
                string resolved = GuestPath.Combine(current, target);
                return Host(rest.Length == 0 ? resolved : resolved + "/" + rest, followLast, depth + 1);
            }
            current = next;
        }
        return root + current;
    }

    public GuestFileInfo? Stat(string path)
    {
        string? host = Host(path, followLast: false);
        if (host is null)
        {
            return null;
        }
        var info = new FileInfo(host);
        if (info.LinkTarget is { } target)
        {
            return new GuestFileInfo(GuestPath.Normalize(path), GuestFileKind.Symlink, target.Length, 0x1FF, 0, 0, target);
        }
        if (Directory.Exists(host))
        {
            return new GuestFileInfo(GuestPath.Normalize(path), GuestFileKind.Directory, 0, Mode(host), 0, 0, null);
        }
        return info.Exists ? new GuestFileInfo(GuestPath.Normalize(path), GuestFileKind.File, info.Length, Mode(host), 0, 0, null) : null;
    }

    private static int Mode(string host) => OperatingSystem.IsWindows() ? 0x1ED : (int)File.GetUnixFileMode(host);

    public byte[] ReadFile(string path) => File.ReadAllBytes(Host(path, followLast: true) ?? throw new FileNotFoundException(path));

    public IReadOnlyList<GuestFileInfo> ListDirectory(string path)
    {
        string host = Host(path, followLast: true) ?? throw new DirectoryNotFoundException(path);
        return [.. Directory.EnumerateFileSystemEntries(host).Order(StringComparer.Ordinal)
            .Select(e => Stat(GuestPath.Combine(path, Path.GetFileName(e)))!)];
    }

    public void WriteFile(string path, ReadOnlySpan<byte> content, int? mode = null) => throw ReadOnly();

    public void CreateDirectory(string path, int mode = 0x1ED) => throw ReadOnly();

    public void CreateSymlink(string path, string target) => throw ReadOnly();

    public void Delete(string path) => throw ReadOnly();

    public void Rename(string from, string to) => throw ReadOnly();

    private static InvalidOperationException ReadOnly() => new("the host tree is read-only; write through a StagedGuestFileSystem");
}
