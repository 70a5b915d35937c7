using System.Text;
using Azure.LinuxImage.Engine.Disks.Raw;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.FileSystems.Xfs;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// An XFS image made by the real mkfs.xfs from a directory (through a protofile), optionally
/// changed by the kernel through a loop mount (xattrs, holes, a dirty log), then read by the
/// engine and judged against the kernel's read-only mount, xfs_db and the source tree.
/// </summary>
internal sealed class XfsTestImage : IDisposable
{
    private RawDiskImage? disk;

    private XfsTestImage(TempDir temp, string image, string tree)
    {
        Temp = temp;
        ImagePath = image;
        Tree = tree;
    }

    public TempDir Temp { get; }

    public string ImagePath { get; }

    /// <summary>The tree mkfs was given.</summary>
    public string Tree { get; }

    /// <summary>Opens the engine's view of the image (through an overlay, as the pipeline does).</summary>
    public XfsFileSystem Open()
    {
        disk?.Dispose();
        disk = new RawDiskImage(SourceFile.Open(ImagePath));
        Overlay = new DiskOverlay(disk);
        return XfsFileSystem.Open(Overlay, ImagePath);
    }

    public DiskOverlay? Overlay { get; private set; }

    /// <summary>Lets go of the image file (before a test damages it).</summary>
    public void Close()
    {
        disk?.Dispose();
        disk = null;
    }

    public static XfsTestImage Create(string name, string[] mkfsOptions, Action<string>? populate = null, int sizeMiB = 300)
    {
        var temp = new TempDir(name);
        try
        {
            string tree = temp["tree"];
            Directory.CreateDirectory(tree);
            (populate ?? PopulateDefault)(tree);
            string proto = temp["proto"];
            File.WriteAllText(proto, Protofile(tree));
            string image = temp["xfs.img"];
            using (var f = File.Create(image))
            {
                f.SetLength((long)sizeMiB << 20);
            }
            ExternalTool.RunChecked("mkfs.xfs", ["-q", "-f", "-p", proto, .. mkfsOptions, image]);
            return new XfsTestImage(temp, image, tree);
        }
        catch
        {
            temp.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Small and large files, an empty and a setuid file, local symlinks (remote on v4), and directories sized for every directory form: short form, block, leaf and
    /// node; the largest interleaves its blocks with its files' so that its data fork needs a btree.
    /// </summary>
    public static void PopulateDefault(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "etc", "ssh"));
        Directory.CreateDirectory(Path.Combine(root, "boot", "grub"));
        Directory.CreateDirectory(Path.Combine(root, "boot", "loader", "entries"));
        Directory.CreateDirectory(Path.Combine(root, "var", "lib", "empty"));
        File.WriteAllText(Path.Combine(root, "etc", "fstab"), "UUID=1234 / xfs defaults 0 0\n");
        File.WriteAllText(Path.Combine(root, "etc", "os-release"), "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nVERSION_ID=\"9.4\"\n");
        File.WriteAllText(Path.Combine(root, "etc", "ssh", "sshd_config"), "PermitRootLogin no\n");
        File.WriteAllText(Path.Combine(root, "etc", "empty"), "");
        File.WriteAllText(Path.Combine(root, "boot", "grub", "grubenv"), "# GRUB Environment Block\nkernelopts=root=/dev/mapper/rhel-root ro rhgb quiet\n" + new string('#', 950));
        File.WriteAllText(Path.Combine(root, "boot", "loader", "entries", "abc-5.14.0.conf"), "title RHEL\nlinux /vmlinuz-5.14.0\noptions root=/dev/mapper/rhel-root ro\n");
        var big = new byte[300_000];
        new Random(7).NextBytes(big);
        File.WriteAllBytes(Path.Combine(root, "boot", "initramfs.img"), big);
        File.WriteAllText(Path.Combine(root, "etc", "suid"), "x");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(root, "etc", "suid"), UnixFileMode.SetUser | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute);
        }
        File.CreateSymbolicLink(Path.Combine(root, "etc", "localtime"), "/usr/share/zoneinfo/Etc/UTC");
        // Local in a v5 inode, remote in a 256-byte v4 one. (mkfs.xfs 6.1 writes v5 remote symlinks
        // from a protofile without their block header, which xfs_db and the kernel reject; the tests
        // that need one have the kernel make it.)
        File.CreateSymbolicLink(Path.Combine(root, "etc", "longlink"), "/" + new string('x', 200) + "/target");
        foreach (var (dir, count, length) in new[] { ("small", 3, 8), ("block", 40, 20), ("leaf", 300, 30), ("node", 3000, 40) })
        {
            string d = Path.Combine(root, "dirs", dir);
            Directory.CreateDirectory(d);
            for (int i = 0; i < count; i++)
            {
                string n = $"{i:D5}-" + new string((char)('a' + (i % 26)), length - 6);
                File.WriteAllText(Path.Combine(d, n), dir == "node" ? new string('z', 3000 + (i % 100)) : n);
            }
        }
    }

    /// <summary>A mkfs.xfs protofile for a tree: owner 0:0, except files named *.user (1000:1000).</summary>
    public static string Protofile(string tree)
    {
        var sb = new StringBuilder("limg\n0 0\nd--755 0 0\n");
        void Walk(string dir)
        {
            foreach (string path in Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal))
            {
                string name = Path.GetFileName(path);
                var info = new FileInfo(path);
                string owner = name.EndsWith(".user", StringComparison.Ordinal) ? "1000 1000" : "0 0";
                if (info.LinkTarget is string target)
                {
                    sb.Append($"{name} l--777 {owner} {target}\n");
                    continue;
                }
                var mode = OperatingSystem.IsWindows() ? (UnixFileMode)0x1ED : File.GetUnixFileMode(path);
                string perms = Convert.ToString((int)mode & 0x1FF, 8).PadLeft(3, '0');
                string su = (mode & UnixFileMode.SetUser) != 0 ? "u" : "-";
                string sg = (mode & UnixFileMode.SetGroup) != 0 ? "g" : "-";
                if (Directory.Exists(path))
                {
                    sb.Append($"{name} d{su}{sg}{perms} {owner}\n");
                    Walk(path);
                    sb.Append("$\n");
                }
                else
                {
                    sb.Append($"{name} -{su}{sg}{perms} {owner} {path}\n");
                }
            }
        }
        Walk(tree);
        sb.Append("$\n");
        return sb.ToString();
    }

    /// <summary>Runs <paramref name="action"/> on a kernel mount of the image (read-only unless asked), always unmounting and detaching.</summary>
    public static void WithKernelMount(string image, bool readOnly, Action<string> action)
    {
        string mountPoint = image + ".mnt";
        Directory.CreateDirectory(mountPoint);
        string device = ExternalTool.RunChecked("losetup", readOnly ? ["-f", "--show", "-r", image] : ["-f", "--show", image]).StdOut.Trim();
        try
        {
            ExternalTool.RunChecked("mount", readOnly ? ["-o", "ro", device, mountPoint] : [device, mountPoint]);
            try
            {
                action(mountPoint);
            }
            finally
            {
                ExternalTool.RunChecked("umount", mountPoint);
            }
        }
        finally
        {
            ExternalTool.Run("losetup", ["-d", device]);
        }
    }

    /// <summary>Every node under a directory as "path kind mode uid gid size link" lines, sorted, from the kernel's view (find).</summary>
    public static List<string> KernelListing(string mountPoint)
    {
        string output = ExternalTool.RunChecked("find", mountPoint, "-mindepth", "1", "-printf", "/%P\t%y\t%m\t%U\t%G\t%s\t%l\n").StdOut;
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
    }

    /// <summary>The same listing from the engine, walking from the root.</summary>
    public static List<string> EngineListing(IFileSystem fs)
    {
        var lines = new List<string>();
        void Walk(ulong dir, string path)
        {
            foreach (var e in fs.ListDirectory(dir))
            {
                var st = fs.Stat(e.Node);
                Assert.AreEqual(e.Kind, st.Kind, $"{path}/{e.Name}: directory entry type and inode disagree");
                string kind = st.Kind switch { FileSystemNodeKind.File => "f", FileSystemNodeKind.Directory => "d", FileSystemNodeKind.Symlink => "l", _ => "?" };
                string link = st.Kind == FileSystemNodeKind.Symlink ? fs.ReadSymlink(e.Node) : "";
                string p = path + "/" + e.Name;
                lines.Add($"{p}\t{kind}\t{Convert.ToString(st.Mode, 8)}\t{st.Uid}\t{st.Gid}\t{st.Size}\t{link}");
                if (st.Kind == FileSystemNodeKind.Directory)
                {
                    Walk(e.Node, p);
                }
            }
        }
        Walk(fs.RootNode, "");
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    /// <summary>Every extended attribute under a kernel mount, "path name hex" lines (python's os.listxattr/getxattr, without following links).</summary>
    public static List<string> KernelXattrs(string mountPoint)
    {
        const string Script = """
            import os, sys
            root = sys.argv[1]
            for d, dirs, files in os.walk(root):
                for n in dirs + files:
                    p = os.path.join(d, n)
                    for a in os.listxattr(p, follow_symlinks=False):
                        print("/" + os.path.relpath(p, root) + "\t" + a + "\t" + os.getxattr(p, a, follow_symlinks=False).hex())
            """;
        string output = ExternalTool.RunChecked("python3", "-c", Script, mountPoint).StdOut;
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
    }

    public static List<string> EngineXattrs(IFileSystem fs)
    {
        var lines = new List<string>();
        void Walk(ulong dir, string path)
        {
            foreach (var e in fs.ListDirectory(dir))
            {
                string p = path + "/" + e.Name;
                foreach (var (name, value) in fs.ReadXattrs(e.Node))
                {
                    lines.Add($"{p}\t{name}\t{Convert.ToHexString(value).ToLowerInvariant()}");
                }
                if (e.Kind == FileSystemNodeKind.Directory)
                {
                    Walk(e.Node, p);
                }
            }
        }
        Walk(fs.RootNode, "");
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    /// <summary>Sets xattrs through the kernel: (relative path, name, value).</summary>
    public static void SetXattrs(string mountPoint, IEnumerable<(string Path, string Name, byte[] Value)> attrs)
    {
        var script = new StringBuilder("import os\n");
        foreach (var (path, name, value) in attrs)
        {
            script.Append($"os.setxattr({Py(Path.Combine(mountPoint, path))}, {Py(name)}, bytes.fromhex('{Convert.ToHexString(value)}'), follow_symlinks=False)\n");
        }
        var r = ExternalTool.Run("python3", ["-"], stdin: script.ToString());
        Assert.AreEqual(0, r.ExitCode, r.All);
    }

    private static string Py(string s) => "'" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    /// <summary>xfs_db's answer to commands on the image (read-only).</summary>
    public static string Db(string image, params string[] commands)
    {
        var args = new List<string> { "-r" };
        foreach (string c in commands)
        {
            args.Add("-c");
            args.Add(c);
        }
        args.Add(image);
        return ExternalTool.RunChecked("xfs_db", [.. args]).StdOut;
    }

    /// <summary>xfs_db in expert mode, to damage an image on purpose.</summary>
    public static void DbWrite(string image, params string[] commands)
    {
        var args = new List<string> { "-x" };
        foreach (string c in commands)
        {
            args.Add("-c");
            args.Add(c);
        }
        args.Add(image);
        ExternalTool.RunChecked("xfs_db", [.. args]);
    }

    /// <summary>
    /// Writes the overlay's changes into the image (the engine's view is closed first), then
    /// xfs_repair -n must exit 0 with no line beyond its phase banners.
    /// </summary>
    public void CommitAndRepair()
    {
        var changes = Overlay!.GetChanges();
        Close();
        using (var f = File.Open(ImagePath, FileMode.Open, FileAccess.ReadWrite))
        {
            foreach (var (offset, data) in changes)
            {
                f.Position = offset;
                f.Write(data);
            }
        }
        AssertRepairClean(ImagePath);
    }

    public static void AssertRepairClean(string image)
    {
        var repair = ExternalTool.Run("xfs_repair", ["-n", image]);
        string[] banners = ["Phase ", "        - ", "No modify flag set", "Cannot get host filesystem geometry", "Repair may fail if", "the image and the host filesystem"];
        var complaints = repair.All.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !banners.Any(b => l.StartsWith(b, StringComparison.Ordinal))).ToList();
        Assert.AreEqual(0, repair.ExitCode, repair.All);
        Assert.AreEqual(0, complaints.Count, "xfs_repair -n complained:\n" + string.Join("\n", complaints));
    }

    /// <summary>A file's bytes as xfs_db maps them (size and bmap), read from the image file: the contents through a real tool, also on v4.</summary>
    public static byte[] DbContent(string image, string path)
    {
        string output = Db(image, $"path {path}", "inode", "print core.size", "bmap", "sb 0", "print agblocks blocksize");
        long size = 0, agblocks = 0, blocksize = 0;
        var map = new List<(long Offset, long Ag, long AgBlock, long Count)>();
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var m = System.Text.RegularExpressions.Regex.Match(line, @"^data offset (\d+) startblock \d+ \((\d+)/(\d+)\) count (\d+) flag (\d)");
            if (m.Success)
            {
                Assert.AreEqual("0", m.Groups[5].Value, $"{path}: unwritten extent in {line}");
                map.Add((long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture),
                    long.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture), long.Parse(m.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture)));
            }
            else if (line.StartsWith("core.size = ", StringComparison.Ordinal))
            {
                size = long.Parse(line[12..], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("agblocks = ", StringComparison.Ordinal))
            {
                agblocks = long.Parse(line[11..], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("blocksize = ", StringComparison.Ordinal))
            {
                blocksize = long.Parse(line[12..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        var data = new byte[size];
        using var f = File.OpenRead(image);
        foreach (var (offset, ag, agblock, count) in map)
        {
            for (long b = 0; b < count && (offset + b) * blocksize < size; b++)
            {
                f.Position = ((ag * agblocks) + agblock + b) * blocksize;
                long at = (offset + b) * blocksize;
                f.ReadExactly(data.AsSpan((int)at, (int)Math.Min(blocksize, size - at)));
            }
        }
        return data;
    }

    public static ulong InodeOf(string image, string path)
    {
        string output = Db(image, $"path {path}", "inode");
        // "current inode number is N"
        string last = output.Trim().Split('\n')[^1];
        return ulong.Parse(last[(last.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        disk?.Dispose();
        Temp.Dispose();
    }
}
