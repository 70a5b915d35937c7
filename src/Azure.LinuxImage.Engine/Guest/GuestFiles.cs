using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Guest;

/// <summary>
/// Conveniences over <see cref="IGuestFileSystem"/> that every patch step and rule needs: following
/// links the way the guest's kernel would, and reading configuration text that may be absent.
/// </summary>
public static class GuestFiles
{
    private const int MaxLinkDepth = 40; // the kernel's MAXSYMLINKS

    /// <summary>
    /// The path with every symbolic link resolved (the last component included), or null when a
    /// link dangles or loops. A path that does not exist resolves to itself, so callers can create it.
    /// </summary>
    public static string? Resolve(IGuestFileSystem fs, string path)
    {
        string current = GuestPath.Normalize(path);
        for (int depth = 0; depth < MaxLinkDepth; depth++)
        {
            // Stat follows intermediate links, but its reported path keeps them, so resolve parents first.
            string parent = GuestPath.GetDirectory(current);
            string? resolvedParent = parent == "/" ? "/" : ResolveDirectory(fs, parent, depth);
            if (resolvedParent is null)
            {
                return null;
            }
            current = GuestPath.Combine(resolvedParent, GuestPath.GetFileName(current));
            var info = fs.Stat(current);
            if (info is null || info.Kind != GuestFileKind.Symlink)
            {
                return current;
            }
            current = GuestPath.Combine(GuestPath.GetDirectory(current), info.LinkTarget ?? string.Empty);
        }
        return null;
    }

    private static string? ResolveDirectory(IGuestFileSystem fs, string directory, int depth) =>
        depth >= MaxLinkDepth ? null : Resolve(fs, directory);

    /// <summary>stat (not lstat): what the path finally names, or null.</summary>
    public static GuestFileInfo? StatFollow(IGuestFileSystem fs, string path)
    {
        string? resolved = Resolve(fs, path);
        return resolved is null ? null : fs.Stat(resolved);
    }

    public static bool IsFile(IGuestFileSystem fs, string path) => StatFollow(fs, path)?.Kind == GuestFileKind.File;

    public static bool IsDirectory(IGuestFileSystem fs, string path) => StatFollow(fs, path)?.Kind == GuestFileKind.Directory;

    /// <summary>Exists as anything, a dangling link included (lstat).</summary>
    public static bool Exists(IGuestFileSystem fs, string path) => fs.Stat(path) is not null;

    public static string? TryReadText(IGuestFileSystem fs, string path)
    {
        byte[]? bytes = TryReadBytes(fs, path);
        return bytes is null ? null : Encoding.UTF8.GetString(bytes);
    }

    public static byte[]? TryReadBytes(IGuestFileSystem fs, string path)
    {
        if (!IsFile(fs, path))
        {
            return null;
        }
        try
        {
            return fs.ReadFile(path);
        }
        catch (LinuxImageException)
        {
            throw;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new LinuxImageException(DiagnosticCatalog.GuestFileUnreadable, path, ex, path, ex.Message);
        }
    }

    /// <summary>Writes through links to the file they name, so /etc/grub2.cfg edits /boot/grub2/grub.cfg.</summary>
    public static void WriteText(IGuestFileSystem fs, string path, string text, int? mode = null) =>
        fs.WriteFile(Resolve(fs, path) ?? path, Encoding.UTF8.GetBytes(text), mode);

    /// <summary>Entries of a directory, empty when it does not exist.</summary>
    public static IReadOnlyList<GuestFileInfo> List(IGuestFileSystem fs, string directory) =>
        IsDirectory(fs, directory) ? fs.ListDirectory(directory) : [];

    /// <summary>Shell-style '*' and '?' match of a file name.</summary>
    public static bool NameMatches(string name, string pattern) =>
        System.IO.Enumeration.FileSystemName.MatchesSimpleExpression(pattern, name, ignoreCase: false);

    /// <summary>Creates the directory and its missing parents.</summary>
    public static void EnsureDirectory(IGuestFileSystem fs, string directory)
    {
        string normal = GuestPath.Normalize(directory);
        if (normal == "/" || IsDirectory(fs, normal))
        {
            return;
        }
        EnsureDirectory(fs, GuestPath.GetDirectory(normal));
        fs.CreateDirectory(Resolve(fs, normal) ?? normal);
    }

    /// <summary>Removes a file or a whole tree; returns how many entries went.</summary>
    public static int DeleteTree(IGuestFileSystem fs, string path)
    {
        var info = fs.Stat(path);
        if (info is null)
        {
            return 0;
        }
        int count = 0;
        if (info.Kind == GuestFileKind.Directory)
        {
            foreach (var child in fs.ListDirectory(path))
            {
                count += DeleteTree(fs, GuestPath.Combine(path, GuestPath.GetFileName(child.Path)));
            }
        }
        fs.Delete(path);
        return count + 1;
    }
}
