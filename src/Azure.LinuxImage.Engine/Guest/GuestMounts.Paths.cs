using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.FileSystems;

namespace Azure.LinuxImage.Engine.Guest;

/// <summary>Path resolution and the <see cref="IGuestFileSystem"/> operations.</summary>
public sealed partial class GuestMounts
{
    private const int MaxSymlinks = 40;

    private readonly record struct Node(GuestMount Mount, ulong Inode)
    {
        public IFileSystem Fs => Mount.FileSystem;
    }

    private sealed record Resolved(Node? Node, Node Parent, string Name, string Path);

    // The kernel's dentry cache in small: what a name in a directory resolved to (or that it did
    // not), each node's kind and each link's target, by file system object (mounts of one btrfs
    // share it). Without them every path reads and parses every component again (/lib, then
    // /usr/lib with its thousand entries, for each of a hundred udev rules). Any change made
    // through this class drops them all; nothing else changes the guest.
    private readonly Dictionary<(IFileSystem Fs, ulong Directory, string Name), ulong?> lookups = [];
    private readonly Dictionary<(IFileSystem Fs, ulong Node), FileSystemNodeKind> kinds = [];
    private readonly Dictionary<(IFileSystem Fs, ulong Node), string> linkTargets = [];

    private ulong? Lookup(Node directory, string name)
    {
        var key = (directory.Fs, directory.Inode, name);
        if (!lookups.TryGetValue(key, out ulong? child))
        {
            child = directory.Fs.Lookup(directory.Inode, name);
            lookups[key] = child;
        }
        return child;
    }

    private FileSystemNodeKind KindOf(Node node)
    {
        if (!kinds.TryGetValue((node.Fs, node.Inode), out var kind))
        {
            kind = node.Fs.Stat(node.Inode).Kind;
            kinds[(node.Fs, node.Inode)] = kind;
        }
        return kind;
    }

    private string LinkTarget(Node node)
    {
        if (!linkTargets.TryGetValue((node.Fs, node.Inode), out string? target))
        {
            target = node.Fs.ReadSymlink(node.Inode);
            linkTargets[(node.Fs, node.Inode)] = target;
        }
        return target;
    }

    /// <summary>Runs a change to the guest, then forgets every resolution made before it.</summary>
    private void Change(Action change)
    {
        try
        {
            change();
        }
        finally
        {
            Forget();
        }
    }

    private void Forget()
    {
        lookups.Clear();
        kinds.Clear();
        linkTargets.Clear();
    }

    /// <summary>
    /// Walks a path like the kernel's namei: components left to right, ".." never above the root,
    /// symbolic links spliced in (absolute ones restart at the guest root), mount points crossed,
    /// at most 40 links. The last component is followed only when asked (stat vs lstat).
    /// </summary>
    private Resolved Resolve(string path, bool followLast)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/')
        {
            throw new LinuxImageException(DiagnosticCatalog.GuestPathInvalid, source, source, path, "guest paths are absolute");
        }
        var rootNode = new Node(Root, Root.FileSystem.RootNode);
        var stack = new List<(Node Node, string Name)> { (rootNode, "") };
        var pending = new LinkedList<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        int links = 0;
        while (pending.Count > 0)
        {
            string c = pending.First!.Value;
            pending.RemoveFirst();
            if (c == ".")
            {
                continue;
            }
            if (c == "..")
            {
                if (stack.Count > 1)
                {
                    stack.RemoveAt(stack.Count - 1);
                }
                continue;
            }
            var current = stack[^1].Node;
            if (KindOf(current) != FileSystemNodeKind.Directory)
            {
                // The guest's own layout (a file where a directory belongs): the input, not our bug.
                throw new LinuxImageException(DiagnosticCatalog.GuestPathInvalid, source, source, path, $"{Join(stack)} is not a directory");
            }
            ulong? child = Lookup(current, c);
            string childPath = Join(stack) == "/" ? "/" + c : Join(stack) + "/" + c;
            if (child is not ulong childNode)
            {
                if (pending.Count == 0)
                {
                    return new Resolved(null, current, c, childPath);
                }
                throw new FileNotFoundException($"{childPath} does not exist (resolving {path}).", path);
            }
            var node = new Node(current.Mount, childNode);
            var mount = mounts.Find(m => m.MountPoint == childPath && m != Root);
            if (mount is not null)
            {
                node = new Node(mount, mount.FileSystem.RootNode);
            }
            if (KindOf(node) == FileSystemNodeKind.Symlink && (pending.Count > 0 || followLast))
            {
                if (++links > MaxSymlinks)
                {
                    throw new LinuxImageException(DiagnosticCatalog.GuestSymlinkLoop, source, source, path);
                }
                string target = LinkTarget(node);
                if (target.StartsWith('/'))
                {
                    stack.RemoveRange(1, stack.Count - 1);
                }
                foreach (string part in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse())
                {
                    pending.AddFirst(part);
                }
                if (pending.Count == 0)
                {
                    // A link to "/" (or ".") resolves to where the stack now is.
                    var here = stack[^1];
                    return new Resolved(here.Node, stack.Count > 1 ? stack[^2].Node : here.Node, here.Name, Join(stack));
                }
                continue;
            }
            stack.Add((node, c));
        }
        var last = stack[^1];
        return new Resolved(last.Node, stack.Count > 1 ? stack[^2].Node : last.Node, last.Name, Join(stack));
    }

    private static string Join(List<(Node Node, string Name)> stack) =>
        stack.Count == 1 ? "/" : string.Concat(stack.Skip(1).Select(s => "/" + s.Name));

    private GuestFileInfo Info(string path, Node node)
    {
        var info = node.Fs.Stat(node.Inode);
        var kind = info.Kind switch
        {
            FileSystemNodeKind.File => GuestFileKind.File,
            FileSystemNodeKind.Directory => GuestFileKind.Directory,
            FileSystemNodeKind.Symlink => GuestFileKind.Symlink,
            _ => GuestFileKind.Other,
        };
        return new GuestFileInfo(path, kind, info.Size, info.Mode & 0xFFF, info.Uid, info.Gid, kind == GuestFileKind.Symlink ? node.Fs.ReadSymlink(node.Inode) : null);
    }

    public GuestFileInfo? Stat(string path)
    {
        try
        {
            var r = Resolve(path, followLast: false);
            return r.Node is Node n ? Info(r.Path, n) : null;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The node and file system a path names (following links), for callers that need more than stat (xattrs).</summary>
    public (IFileSystem FileSystem, ulong Node)? Find(string path)
    {
        var r = Resolve(path, followLast: true);
        return r.Node is Node n ? (n.Fs, n.Inode) : null;
    }

    public byte[] ReadFile(string path)
    {
        var r = Resolve(path, followLast: true);
        if (r.Node is not Node n)
        {
            throw new FileNotFoundException($"{path} does not exist.", path);
        }
        if (KindOf(n) != FileSystemNodeKind.File)
        {
            throw new LinuxImageException(DiagnosticCatalog.GuestPathInvalid, source, source, path, "it is not a regular file");
        }
        return n.Fs.ReadFile(n.Inode);
    }

    public IReadOnlyList<GuestFileInfo> ListDirectory(string path)
    {
        var r = Resolve(path, followLast: true);
        if (r.Node is not Node n)
        {
            throw new DirectoryNotFoundException($"{path} does not exist.");
        }
        if (KindOf(n) != FileSystemNodeKind.Directory)
        {
            throw new LinuxImageException(DiagnosticCatalog.GuestPathInvalid, source, source, path, "it is not a directory");
        }
        var result = new List<GuestFileInfo>();
        foreach (var e in n.Fs.ListDirectory(n.Inode))
        {
            string childPath = r.Path == "/" ? "/" + e.Name : r.Path + "/" + e.Name;
            var child = new Node(n.Mount, e.Node);
            var mount = mounts.Find(m => m.MountPoint == childPath && m != Root);
            result.Add(Info(childPath, mount is null ? child : new Node(mount, mount.FileSystem.RootNode)));
        }
        return result;
    }

    public void WriteFile(string path, ReadOnlySpan<byte> content, int? mode = null)
    {
        // Not Change(...): a span cannot be captured.
        try
        {
            WriteFileUncached(path, content, mode);
        }
        finally
        {
            Forget();
        }
    }

    private void WriteFileUncached(string path, ReadOnlySpan<byte> content, int? mode)
    {
        var r = Resolve(path, followLast: true);
        if (r.Node is Node n)
        {
            var info = n.Fs.Stat(n.Inode);
            if (info.Kind != FileSystemNodeKind.File)
            {
                throw new LinuxImageException(DiagnosticCatalog.GuestPathInvalid, source, source, path, "it is not a regular file");
            }
            // Not At(...): a span cannot be captured, and copying an initramfs to capture it costs.
            try
            {
                n.Fs.ReplaceContent(n.Inode, content);
                if (mode is int m && (info.Mode & 0xFFF) != (m & 0xFFF))
                {
                    n.Fs.SetMode(n.Inode, m & 0xFFF);
                }
            }
            catch (LinuxImageException e)
            {
                throw e.At(r.Path);
            }
            return;
        }
        try
        {
            ulong created = r.Parent.Fs.CreateFile(r.Parent.Inode, r.Name, content, mode ?? 0x1A4, 0, 0);
            InheritedLabel.Apply(r.Parent.Fs, r.Parent.Inode, created);
        }
        catch (LinuxImageException e)
        {
            throw e.At(r.Path);
        }
    }

    public void CreateDirectory(string path, int mode = 0x1ED)
    {
        var r = Resolve(path, followLast: false);
        if (r.Node is not null)
        {
            throw new IOException($"{path} exists.");
        }
        Change(() => At(r.Path, () => InheritedLabel.Apply(r.Parent.Fs, r.Parent.Inode, r.Parent.Fs.CreateDirectory(r.Parent.Inode, r.Name, mode, 0, 0))));
    }

    public void CreateSymlink(string path, string target)
    {
        var r = Resolve(path, followLast: false);
        if (r.Node is not null)
        {
            throw new IOException($"{path} exists.");
        }
        Change(() => At(r.Path, () => InheritedLabel.Apply(r.Parent.Fs, r.Parent.Inode, r.Parent.Fs.CreateSymlink(r.Parent.Inode, r.Name, target, 0, 0))));
    }

    public void Delete(string path)
    {
        var r = Resolve(path, followLast: false);
        if (r.Node is not Node n)
        {
            throw new FileNotFoundException($"{path} does not exist.", path);
        }
        if (mounts.Exists(m => m.MountPoint == r.Path))
        {
            throw new IOException($"{path} is a mount point.");
        }
        Change(() => At(r.Path, () => n.Fs.Delete(r.Parent.Inode, r.Name)));
    }

    public void Rename(string from, string to)
    {
        var a = Resolve(from, followLast: false);
        if (a.Node is not Node n)
        {
            throw new FileNotFoundException($"{from} does not exist.", from);
        }
        var b = Resolve(to, followLast: false);
        if (b.Parent.Mount != n.Mount || a.Parent.Mount != n.Mount)
        {
            throw new IOException($"Cannot rename {from} to {to}: they are on different file systems.");
        }
        Change(() => At(a.Path, () => n.Fs.Rename(a.Parent.Inode, a.Name, b.Parent.Inode, b.Name)));
    }

    /// <summary>A file system's refusal (LIMG03xx) located at the guest path whose change it refused.</summary>
    private static void At(string guestPath, Action change)
    {
        try
        {
            change();
        }
        catch (LinuxImageException e)
        {
            throw e.At(guestPath);
        }
    }
}
