namespace Azure.LinuxImage.Engine.Guest;

public enum GuestFileKind
{
    File,
    Directory,
    Symlink,
    Other,
}

/// <summary>What the guest's <c>lstat</c> would say about a path.</summary>
public sealed record GuestFileInfo(string Path, GuestFileKind Kind, long Size, int Mode, int Uid, int Gid, string? LinkTarget);

/// <summary>
/// The guest's file tree as its own kernel would see it once mounted (the root file system with
/// the others from its /etc/fstab at their places). Paths are absolute guest paths; symbolic links
/// resolve inside the guest and never escape its root. Guest configuration (patch steps and
/// validation rules) works only through this, so it is tested on in-memory trees and runs on ext4
/// images alike. Writes go to a copy-on-write overlay, never to the source.
/// </summary>
public interface IGuestFileSystem
{
    /// <summary>lstat semantics: intermediate links are followed, the last component is not. Null when absent.</summary>
    GuestFileInfo? Stat(string path);

    /// <summary>Reads a regular file, following symbolic links.</summary>
    byte[] ReadFile(string path);

    /// <summary>The entries of a directory (following links to it), without "." and "..".</summary>
    IReadOnlyList<GuestFileInfo> ListDirectory(string path);

    /// <summary>
    /// Replaces a file's contents (keeping owner, mode, timestamps' creation fields and extended
    /// attributes), or creates it with <paramref name="mode"/> (default 0644, owner root).
    /// </summary>
    void WriteFile(string path, ReadOnlySpan<byte> content, int? mode = null);

    void CreateDirectory(string path, int mode = 0x1ED /* 0755 */);

    void CreateSymlink(string path, string target);

    /// <summary>Removes a file, a symbolic link or an empty directory.</summary>
    void Delete(string path);

    void Rename(string from, string to);
}
