using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.FileSystems.Btrfs;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// btrfs images made by the real mkfs.btrfs (--rootdir) and, for subvolumes, snapshots and
/// compressed files, by the kernel itself (loop-mounted as root, always unmounted); and the
/// kernel's view of an image (loop-mounted read-only) to compare with what the engine reads.
/// </summary>
internal static partial class BtrfsTestImage
{
    /// <summary>What one path looks like: kind, permissions, owner, size, content digest or link target, xattrs.</summary>
    public sealed record Entry(FileSystemNodeKind Kind, int Permissions, int Uid, int Gid, long Size, string Content, string Xattrs);

    /// <summary>A standard tree: inline, regular and sparse files, symlinks, a hard link, xattrs, owners, a wide directory.</summary>
    public static void PopulateDefault(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "etc", "ssh"));
        Directory.CreateDirectory(Path.Combine(root, "boot", "grub2"));
        Directory.CreateDirectory(Path.Combine(root, "var", "lib", "empty"));
        Directory.CreateDirectory(Path.Combine(root, "usr", "share", "many"));
        File.WriteAllText(Path.Combine(root, "etc", "fstab"), "UUID=1234 / btrfs defaults 0 0\n");
        File.WriteAllText(Path.Combine(root, "etc", "os-release"), "ID=opensuse-leap\nVERSION_ID=\"15.6\"\n");
        File.WriteAllText(Path.Combine(root, "etc", "ssh", "sshd_config"), "PermitRootLogin no\n");
        File.WriteAllText(Path.Combine(root, "boot", "grub2", "grub.cfg"), "linux /vmlinuz root=UUID=1234 quiet\n");
        File.WriteAllBytes(Path.Combine(root, "etc", "empty"), []);
        var big = new byte[300_000];
        new Random(7).NextBytes(big);
        File.WriteAllBytes(Path.Combine(root, "boot", "initrd"), big);
        // A file of exactly one inline limit and one just past it, and an unaligned tail.
        File.WriteAllBytes(Path.Combine(root, "etc", "inline-2048"), Filled(2048, 1));
        File.WriteAllBytes(Path.Combine(root, "etc", "regular-5000"), Filled(5000, 2));
        using (var sparse = new FileStream(Path.Combine(root, "var", "sparse"), FileMode.Create))
        {
            sparse.Position = 1 << 20;
            sparse.Write(Filled(4096, 3));
            sparse.SetLength((2 << 20) + 123);
        }
        File.CreateSymbolicLink(Path.Combine(root, "etc", "localtime"), "/usr/share/zoneinfo/Etc/UTC");
        File.CreateSymbolicLink(Path.Combine(root, "etc", "longlink"), "/" + new string('x', 300) + "/target");
        Link(Path.Combine(root, "etc", "fstab"), Path.Combine(root, "etc", "fstab.hard"));
        for (int i = 0; i < 400; i++)
        {
            File.WriteAllText(Path.Combine(root, "usr", "share", "many", $"file-{i:D4}-{new string('n', i % 50)}"), $"content {i}\n");
        }
        File.WriteAllText(Path.Combine(root, "etc", "ünïcödé name"), "utf-8\n");
        SetXattr(Path.Combine(root, "etc", "fstab"), "security.selinux", "system_u:object_r:etc_t:s0\0"u8.ToArray());
        SetXattr(Path.Combine(root, "etc", "fstab"), "user.note", Filled(1000, 4));
        SetXattr(Path.Combine(root, "boot"), "user.dir", "d"u8.ToArray());
        Chown(Path.Combine(root, "var", "lib", "empty"), 1000, 100);
        Assert.AreEqual(0, ChmodNative(Path.Combine(root, "etc", "ssh", "sshd_config"), 0x180), "chmod");
    }

    public static byte[] Filled(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Makes an image with mkfs.btrfs --rootdir; <paramref name="mounted"/> then runs on the loop-mounted top level.</summary>
    public static string Create(TempDir temp, int sizeMiB, string[] mkfsOptions, Action<string>? populate = null, Action<string>? mounted = null, string mountOptions = "")
    {
        string tree = temp["tree"];
        Directory.CreateDirectory(tree);
        (populate ?? PopulateDefault)(tree);
        string image = temp[$"fs-{Guid.NewGuid():N}.img"];
        using (var f = new FileStream(image, FileMode.CreateNew))
        {
            f.SetLength((long)sizeMiB << 20);
        }
        ExternalTool.RunChecked("mkfs.btrfs", [.. mkfsOptions, "-q", "-f", "--rootdir", tree, image]);
        if (mounted is not null)
        {
            WithMount(image, string.IsNullOrEmpty(mountOptions) ? "loop" : "loop," + mountOptions, temp, mounted);
        }
        return image;
    }

    /// <summary>Loop-mounts the image, runs <paramref name="action"/> on the mount point, and always unmounts (the loop device detaches itself).</summary>
    public static void WithMount(string image, string options, TempDir temp, Action<string> action)
    {
        string mountPoint = temp[$"mnt-{Guid.NewGuid():N}"];
        Directory.CreateDirectory(mountPoint);
        ExternalTool.RunChecked("mount", "-t", "btrfs", "-o", options, image, mountPoint);
        try
        {
            action(mountPoint);
        }
        finally
        {
            ExternalTool.RunChecked("umount", mountPoint);
            Directory.Delete(mountPoint);
        }
    }

    /// <summary>The subvolume ids 'btrfs subvolume list' prints for the image (top level mounted read-only), ascending.</summary>
    public static List<ulong> SubvolumeIdsOf(string image, TempDir temp)
    {
        var ids = new List<ulong>();
        WithMount(image, "ro,loop,subvolid=5", temp, m =>
        {
            foreach (string line in ExternalTool.RunChecked("btrfs", "subvolume", "list", m).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                ids.Add(ulong.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));
            }
        });
        ids.Sort();
        Assert.IsNotEmpty(ids);
        return ids;
    }

    public static void Btrfs(params string[] args) => ExternalTool.RunChecked("btrfs", args);

    /// <summary>The tree as the kernel shows it, mounted read-only with <paramref name="options"/> (subvol=, subvolid=).</summary>
    public static SortedDictionary<string, Entry> KernelView(string image, string options, TempDir temp)
    {
        var result = new SortedDictionary<string, Entry>(StringComparer.Ordinal);
        WithMount(image, "ro,loop" + (string.IsNullOrEmpty(options) ? string.Empty : "," + options), temp, root =>
        {
            var r = ExternalTool.RunChecked("find", root, "-mindepth", "1", "-printf", "%P\\0%y\\0%m\\0%U\\0%G\\0%s\\0");
            var fields = r.StdOut.Split('\0');
            for (int i = 0; i + 6 <= fields.Length; i += 6)
            {
                string rel = fields[i];
                string full = Path.Combine(root, rel);
                var kind = fields[i + 1] switch
                {
                    "f" => FileSystemNodeKind.File,
                    "d" => FileSystemNodeKind.Directory,
                    "l" => FileSystemNodeKind.Symlink,
                    _ => FileSystemNodeKind.Other,
                };
                string content = kind switch
                {
                    FileSystemNodeKind.File => Digest(File.ReadAllBytes(full)),
                    FileSystemNodeKind.Symlink => new FileInfo(full).LinkTarget!,
                    _ => string.Empty,
                };
                result["/" + rel] = new Entry(kind, Convert.ToInt32(fields[i + 2], 8), int.Parse(fields[i + 3]), int.Parse(fields[i + 4]),
                    long.Parse(fields[i + 5]), content, FormatXattrs(ListXattrs(full)));
            }
        });
        return result;
    }

    /// <summary>The same tree read by the engine.</summary>
    public static SortedDictionary<string, Entry> EngineView(IFileSystem fs)
    {
        var result = new SortedDictionary<string, Entry>(StringComparer.Ordinal);
        void Walk(ulong dir, string prefix, int depth)
        {
            Assert.IsLessThan(64, depth, "directory nesting");
            foreach (var e in fs.ListDirectory(dir))
            {
                var info = fs.Stat(e.Node);
                Assert.AreEqual(e.Kind, info.Kind, $"kind of {prefix}/{e.Name} in its directory entry and its inode");
                string content = info.Kind switch
                {
                    FileSystemNodeKind.File => Digest(fs.ReadFile(e.Node)),
                    FileSystemNodeKind.Symlink => fs.ReadSymlink(e.Node),
                    _ => string.Empty,
                };
                string path = prefix + "/" + e.Name;
                Assert.AreEqual(e.Node, fs.Lookup(dir, e.Name), $"lookup of {path}");
                result[path] = new Entry(info.Kind, info.Mode & 0xFFF, info.Uid, info.Gid, info.Size, content, FormatXattrs(fs.ReadXattrs(e.Node)));
                if (info.Kind == FileSystemNodeKind.Directory)
                {
                    Walk(e.Node, path, depth + 1);
                }
            }
        }
        Walk(fs.RootNode, string.Empty, 0);
        return result;
    }

    public static void AssertSameAsKernel(string image, string options, TempDir temp, int minimumEntries = 1)
    {
        var kernel = KernelView(image, options, temp);
        using var volume = FileVolume.OpenRead(image);
        var fs = BtrfsFileSystem.Open(volume, image, options);
        var ours = EngineView(fs);
        Assert.IsGreaterThanOrEqualTo(minimumEntries, kernel.Count, "the fixture is smaller than intended");
        var missing = kernel.Keys.Except(ours.Keys).ToList();
        var extra = ours.Keys.Except(kernel.Keys).ToList();
        Assert.IsTrue(missing.Count == 0 && extra.Count == 0,
            $"paths differ with options '{options}': missing {string.Join(", ", missing.Take(10))}; extra {string.Join(", ", extra.Take(10))}");
        foreach (var (path, expected) in kernel)
        {
            Assert.AreEqual(expected, ours[path], $"{path} with options '{options}'");
        }
    }

    public static string Digest(byte[] data) => $"{data.Length}:{Convert.ToHexString(SHA256.HashData(data))[..16]}";

    private static string FormatXattrs(IReadOnlyDictionary<string, byte[]> xattrs) =>
        string.Join(";", xattrs.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => $"{x.Key}={Convert.ToHexString(x.Value)}"));

    [LibraryImport("libc", EntryPoint = "lsetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LSetXattr(string path, string name, byte[] value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "llistxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint LListXattr(string path, byte[] list, nuint size);

    [LibraryImport("libc", EntryPoint = "lgetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint LGetXattr(string path, string name, byte[] value, nuint size);

    [LibraryImport("libc", EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LChown(string path, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "chmod", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int ChmodNative(string path, int mode);

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LinkNative(string from, string to);

    public static void SetXattr(string path, string name, byte[] value)
    {
        Assert.AreEqual(0, LSetXattr(path, name, value, (nuint)value.Length, 0), $"lsetxattr {path} {name}: errno {Marshal.GetLastPInvokeError()}");
    }

    public static void Chown(string path, int uid, int gid) =>
        Assert.AreEqual(0, LChown(path, uid, gid), $"lchown {path}: errno {Marshal.GetLastPInvokeError()}");

    public static void Link(string from, string to) =>
        Assert.AreEqual(0, LinkNative(from, to), $"link {to}: errno {Marshal.GetLastPInvokeError()}");

    public static Dictionary<string, byte[]> ListXattrs(string path)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var names = new byte[65536];
        nint n = LListXattr(path, names, (nuint)names.Length);
        Assert.IsGreaterThanOrEqualTo(0, (long)n, $"llistxattr {path}: errno {Marshal.GetLastPInvokeError()}");
        foreach (string name in Encoding.UTF8.GetString(names, 0, (int)n).Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var value = new byte[65536];
            nint m = LGetXattr(path, name, value, (nuint)value.Length);
            Assert.IsGreaterThanOrEqualTo(0, (long)m, $"lgetxattr {path} {name}: errno {Marshal.GetLastPInvokeError()}");
            result[name] = value[..(int)m];
        }
        return result;
    }
}
