using System.Text;
using Azure.LinuxImage.Engine.Guest;

namespace Azure.LinuxImage.Tests.Guest;

/// <summary>
/// A guest tree in memory with the semantics the ext4 engine provides: lstat, links followed
/// inside the root only ('..' at the root stays there, absolute targets are the guest's root),
/// metadata kept when a file is replaced.
/// </summary>
public sealed class InMemoryGuestFileSystem : IGuestFileSystem
{
    private sealed class Node
    {
        public GuestFileKind Kind;
        public byte[] Content = [];
        public int Mode;
        public int Uid;
        public int Gid;
        public string? Target;
        public SortedDictionary<string, Node> Children = new(StringComparer.Ordinal);
    }

    private readonly Node root = new() { Kind = GuestFileKind.Directory, Mode = 0x1ED };

    public int WriteCount { get; private set; }

    public InMemoryGuestFileSystem Add(string path, string text, int mode = 0x1A4) => AddBytes(path, Encoding.UTF8.GetBytes(text), mode);

    public InMemoryGuestFileSystem AddBytes(string path, byte[] content, int mode = 0x1A4)
    {
        EnsureParents(path);
        var (parent, name) = Parent(path);
        parent.Children[name] = new Node { Kind = GuestFileKind.File, Content = content, Mode = mode };
        return this;
    }

    public InMemoryGuestFileSystem Link(string path, string target)
    {
        EnsureParents(path);
        var (parent, name) = Parent(path);
        parent.Children[name] = new Node { Kind = GuestFileKind.Symlink, Target = target, Mode = 0x1FF };
        return this;
    }

    public InMemoryGuestFileSystem Dir(string path)
    {
        EnsureParents(path + "/x");
        return this;
    }

    public InMemoryGuestFileSystem Own(string path, int uid, int gid)
    {
        var node = Walk(GuestPath.Normalize(path), 0) ?? throw new FileNotFoundException(path);
        node.Uid = uid;
        node.Gid = gid;
        return this;
    }

    public string Text(string path) => Encoding.UTF8.GetString(ReadFile(path));

    public string? TryText(string path) => Stat(path) is null ? null : Text(path);

    /// <summary>Every path with its kind and content, for whole-tree equality (idempotence tests).</summary>
    public string Snapshot()
    {
        var sb = new StringBuilder();
        void Walk(string path, Node node)
        {
            sb.Append(path).Append(' ').Append(node.Kind).Append(' ').Append(node.Target)
              .Append(' ').Append(Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(node.Content))).Append('\n');
            foreach (var (name, child) in node.Children)
            {
                Walk(path.TrimEnd('/') + "/" + name, child);
            }
        }
        Walk("/", root);
        return sb.ToString();
    }

    public GuestFileInfo? Stat(string path)
    {
        string normal = GuestPath.Normalize(path);
        if (normal == "/")
        {
            return Info("/", root);
        }
        var parent = Walk(GuestPath.GetDirectory(normal), 0);
        return parent is not null && parent.Kind == GuestFileKind.Directory && parent.Children.TryGetValue(GuestPath.GetFileName(normal), out var node)
            ? Info(normal, node) : null;
    }

    public byte[] ReadFile(string path)
    {
        var node = Walk(GuestPath.Normalize(path), 0) ?? throw new FileNotFoundException(path);
        return node.Kind == GuestFileKind.File ? node.Content : throw new IOException($"{path} is not a regular file");
    }

    public IReadOnlyList<GuestFileInfo> ListDirectory(string path)
    {
        string normal = GuestPath.Normalize(path);
        var node = Walk(normal, 0) ?? throw new DirectoryNotFoundException(path);
        if (node.Kind != GuestFileKind.Directory)
        {
            throw new IOException($"{path} is not a directory");
        }
        return [.. node.Children.Select(c => Info(GuestPath.Combine(normal, c.Key), c.Value))];
    }

    public void WriteFile(string path, ReadOnlySpan<byte> content, int? mode = null)
    {
        WriteCount++;
        var (parent, name) = Parent(path);
        if (parent.Children.TryGetValue(name, out var existing))
        {
            if (existing.Kind == GuestFileKind.Symlink)
            {
                var target = Walk(GuestPath.Normalize(path), 0) ?? throw new FileNotFoundException($"dangling link {path}");
                target.Content = content.ToArray();
                return;
            }
            if (existing.Kind != GuestFileKind.File)
            {
                throw new IOException($"{path} is not a regular file");
            }
            existing.Content = content.ToArray();
            existing.Mode = mode ?? existing.Mode;
            return;
        }
        parent.Children[name] = new Node { Kind = GuestFileKind.File, Content = content.ToArray(), Mode = mode ?? 0x1A4 };
    }

    public void CreateDirectory(string path, int mode = 0x1ED)
    {
        WriteCount++;
        var (parent, name) = Parent(path);
        if (parent.Children.ContainsKey(name))
        {
            throw new IOException($"{path} exists");
        }
        parent.Children[name] = new Node { Kind = GuestFileKind.Directory, Mode = mode };
    }

    public void CreateSymlink(string path, string target)
    {
        WriteCount++;
        var (parent, name) = Parent(path);
        if (parent.Children.ContainsKey(name))
        {
            throw new IOException($"{path} exists");
        }
        parent.Children[name] = new Node { Kind = GuestFileKind.Symlink, Target = target, Mode = 0x1FF };
    }

    public void Delete(string path)
    {
        WriteCount++;
        var (parent, name) = Parent(path);
        if (!parent.Children.TryGetValue(name, out var node))
        {
            throw new FileNotFoundException(path);
        }
        if (node.Kind == GuestFileKind.Directory && node.Children.Count > 0)
        {
            throw new IOException($"{path} is not empty");
        }
        parent.Children.Remove(name);
    }

    public void Rename(string from, string to)
    {
        WriteCount++;
        var (fromParent, fromName) = Parent(from);
        var (toParent, toName) = Parent(to);
        if (!fromParent.Children.Remove(fromName, out var node))
        {
            throw new FileNotFoundException(from);
        }
        toParent.Children[toName] = node;
    }

    private static GuestFileInfo Info(string path, Node node) =>
        new(path, node.Kind, node.Kind == GuestFileKind.File ? node.Content.Length : 0, node.Mode, node.Uid, node.Gid, node.Target);

    /// <summary>Follows every link, the last included; null when absent or looping.</summary>
    private Node? Walk(string normalPath, int depth)
    {
        if (depth > 40)
        {
            return null;
        }
        var current = root;
        string currentPath = "/";
        foreach (string part in normalPath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (current.Kind != GuestFileKind.Directory || !current.Children.TryGetValue(part, out var next))
            {
                return null;
            }
            if (next.Kind == GuestFileKind.Symlink)
            {
                string targetPath = GuestPath.Combine(currentPath, next.Target!);
                next = Walk(targetPath, depth + 1);
                if (next is null)
                {
                    return null;
                }
                currentPath = targetPath;
            }
            else
            {
                currentPath = GuestPath.Combine(currentPath, part);
            }
            current = next;
        }
        return current;
    }

    /// <summary>The directory holding the last component (links before it followed) and that component's name.</summary>
    private (Node Parent, string Name) Parent(string path)
    {
        string normal = GuestPath.Normalize(path);
        var parent = Walk(GuestPath.GetDirectory(normal), 0);
        if (parent is null || parent.Kind != GuestFileKind.Directory)
        {
            throw new DirectoryNotFoundException($"parent of {path} does not exist");
        }
        return (parent, GuestPath.GetFileName(normal));
    }

    private void EnsureParents(string path)
    {
        var current = root;
        string currentPath = "/";
        foreach (string part in GuestPath.GetDirectory(GuestPath.Normalize(path)).Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!current.Children.TryGetValue(part, out var next))
            {
                next = new Node { Kind = GuestFileKind.Directory, Mode = 0x1ED };
                current.Children[part] = next;
            }
            currentPath = GuestPath.Combine(currentPath, part);
            if (next.Kind == GuestFileKind.Symlink)
            {
                next = Walk(currentPath, 0) ?? throw new DirectoryNotFoundException(currentPath);
            }
            current = next;
        }
    }
}
