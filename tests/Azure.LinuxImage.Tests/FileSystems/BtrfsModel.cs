using System.Text;
using Azure.LinuxImage.Engine.FileSystems;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// What a file system should hold after a sequence of changes, kept beside the engine's changes:
/// paths with kind, permissions, owner, size and content digest (or link target), as
/// <see cref="BtrfsTestImage.Entry"/> says them. The kernel's view of the written image must equal it.
/// </summary>
internal sealed class BtrfsModel
{
    private readonly SortedDictionary<string, BtrfsTestImage.Entry> entries;

    public BtrfsModel(SortedDictionary<string, BtrfsTestImage.Entry> start)
    {
        entries = new SortedDictionary<string, BtrfsTestImage.Entry>(start, StringComparer.Ordinal);
    }

    public int Count => entries.Count;

    public ulong CreateFile(IFileSystem fs, ulong dir, string dirPath, string name, byte[] content, int mode, int uid, int gid)
    {
        ulong node = fs.CreateFile(dir, name, content, mode, uid, gid);
        entries[Join(dirPath, name)] = new(FileSystemNodeKind.File, mode, uid, gid, content.Length, BtrfsTestImage.Digest(content), string.Empty);
        return node;
    }

    public ulong CreateDirectory(IFileSystem fs, ulong dir, string dirPath, string name, int mode, int uid, int gid)
    {
        ulong node = fs.CreateDirectory(dir, name, mode, uid, gid);
        entries[Join(dirPath, name)] = new(FileSystemNodeKind.Directory, mode, uid, gid, 0, string.Empty, string.Empty);
        return node;
    }

    public ulong CreateSymlink(IFileSystem fs, ulong dir, string dirPath, string name, string target)
    {
        ulong node = fs.CreateSymlink(dir, name, target, 0, 0);
        entries[Join(dirPath, name)] = new(FileSystemNodeKind.Symlink, 0x1FF, 0, 0, Encoding.UTF8.GetByteCount(target), target, string.Empty);
        return node;
    }

    public void Replace(IFileSystem fs, string path, byte[] content)
    {
        fs.ReplaceContent(BtrfsWriteTests.Resolve(fs, path), content);
        entries[path] = entries[path] with { Size = content.Length, Content = BtrfsTestImage.Digest(content) };
    }

    /// <summary>A hard link of <paramref name="path"/> shows its contents.</summary>
    public void HardLink(string alias, string path) => entries[alias] = entries[alias] with { Size = entries[path].Size, Content = entries[path].Content };

    public void Delete(IFileSystem fs, ulong dir, string dirPath, string name)
    {
        fs.Delete(dir, name);
        Assert.IsTrue(entries.Remove(Join(dirPath, name)), $"{dirPath}/{name} was in the model");
    }

    public void Rename(IFileSystem fs, ulong fromDir, string fromPath, string fromName, ulong toDir, string toPath, string toName)
    {
        fs.Rename(fromDir, fromName, toDir, toName);
        string from = Join(fromPath, fromName);
        string to = Join(toPath, toName);
        var moved = entries.Where(e => e.Key == from || e.Key.StartsWith(from + "/", StringComparison.Ordinal)).ToList();
        foreach (var (path, _) in moved)
        {
            entries.Remove(path);
        }
        entries.Remove(to);
        foreach (var (path, entry) in moved)
        {
            entries[to + path[from.Length..]] = entry;
        }
    }

    public void SetMode(IFileSystem fs, string path, int mode)
    {
        fs.SetMode(BtrfsWriteTests.Resolve(fs, path), mode);
        entries[path] = entries[path] with { Permissions = mode };
    }

    /// <summary>One random change: create, replace, delete, rename or chmod, on paths the model knows.</summary>
    public void RandomStep(IFileSystem fs, Random random, int step)
    {
        var dirs = entries.Where(e => e.Value.Kind == FileSystemNodeKind.Directory).Select(e => e.Key).Prepend(string.Empty).ToList();
        var files = entries.Where(e => e.Value.Kind == FileSystemNodeKind.File).Select(e => e.Key).ToList();
        var leaves = entries.Where(e => e.Value.Kind != FileSystemNodeKind.Directory || !entries.Keys.Any(k => k.StartsWith(e.Key + "/", StringComparison.Ordinal))).Select(e => e.Key).ToList();
        string dir = dirs[random.Next(dirs.Count)];
        ulong dirNode = dir.Length == 0 ? fs.RootNode : BtrfsWriteTests.Resolve(fs, dir);
        string name = $"n{step}-{new string('x', random.Next(0, 40))}";
        switch (random.Next(8))
        {
            case 0:
            case 1:
                CreateFile(fs, dirNode, dir, name, RandomContent(random), 0x1A4, random.Next(0, 2) * 1000, 0);
                break;
            case 2:
                CreateDirectory(fs, dirNode, dir, name, 0x1ED, 0, 0);
                break;
            case 3:
                CreateSymlink(fs, dirNode, dir, name, "/target/" + new string('l', random.Next(1, 200)));
                break;
            case 4 when files.Count > 0:
                Replace(fs, files[random.Next(files.Count)], RandomContent(random));
                break;
            case 5 when leaves.Count > 0:
            {
                string victim = leaves[random.Next(leaves.Count)];
                string parent = Parent(victim);
                Delete(fs, parent.Length == 0 ? fs.RootNode : BtrfsWriteTests.Resolve(fs, parent), parent, victim[(victim.LastIndexOf('/') + 1)..]);
                break;
            }
            case 6 when leaves.Count > 0:
            {
                string moving = leaves[random.Next(leaves.Count)];
                string parent = Parent(moving);
                // Sometimes onto an existing file, which the rename replaces.
                var target = files.Where(f => f != moving && !entries.Keys.Any(k => k.StartsWith(moving + "/", StringComparison.Ordinal))).ToList();
                bool directory = entries[moving].Kind == FileSystemNodeKind.Directory;
                string to = !directory && target.Count > 0 && random.Next(3) == 0 ? target[random.Next(target.Count)] : Join(dir, name);
                if (to.StartsWith(moving + "/", StringComparison.Ordinal))
                {
                    break;
                }
                string toParent = Parent(to);
                Rename(fs, parent.Length == 0 ? fs.RootNode : BtrfsWriteTests.Resolve(fs, parent), parent, moving[(moving.LastIndexOf('/') + 1)..],
                    toParent.Length == 0 ? fs.RootNode : BtrfsWriteTests.Resolve(fs, toParent), toParent, to[(to.LastIndexOf('/') + 1)..]);
                break;
            }
            case 7 when files.Count > 0:
                SetMode(fs, files[random.Next(files.Count)], random.Next(0, 0x200));
                break;
            default:
                CreateFile(fs, dirNode, dir, name, RandomContent(random), 0x1A4, 0, 0);
                break;
        }
    }

    private static byte[] RandomContent(Random random)
    {
        int length = random.Next(6) switch
        {
            0 => 0,
            1 => random.Next(1, 2049),
            2 => random.Next(2049, 4097),
            3 => 4096 * random.Next(1, 4),
            4 => random.Next(10_000, 300_000),
            _ => random.Next(1, 100),
        };
        var data = new byte[length];
        random.NextBytes(data);
        return data;
    }

    public void AssertEngine(IFileSystem fs) => AssertSame(BtrfsTestImage.EngineView(fs), "engine");

    public void AssertKernel(string image, Azure.LinuxImage.Tests.Infrastructure.TempDir temp, string options = "") => AssertSame(BtrfsTestImage.KernelView(image, options, temp), $"kernel ({options})");

    private void AssertSame(SortedDictionary<string, BtrfsTestImage.Entry> actual, string who)
    {
        var missing = entries.Keys.Except(actual.Keys).ToList();
        var extra = actual.Keys.Except(entries.Keys).ToList();
        Assert.IsTrue(missing.Count == 0 && extra.Count == 0, $"{who}: missing {string.Join(", ", missing.Take(10))}; extra {string.Join(", ", extra.Take(10))}");
        foreach (var (path, expected) in entries)
        {
            var got = actual[path];
            // Xattrs are the fixture's (kept by every change); directory sizes are the file system's own.
            Assert.AreEqual(expected with { Xattrs = got.Xattrs, Size = expected.Kind == FileSystemNodeKind.Directory ? got.Size : expected.Size }, got, $"{who}: {path}");
        }
    }

    private static string Join(string dir, string name) => dir + "/" + name;

    private static string Parent(string path) => path[..path.LastIndexOf('/')];
}
