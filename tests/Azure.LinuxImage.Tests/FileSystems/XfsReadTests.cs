using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.FileSystems.Xfs;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// The XFS reader on images made by mkfs.xfs across feature sets, compared in full (names, kinds,
/// modes, owners, sizes, link targets, contents, xattrs) with the kernel's read-only mount, and on
/// v4 (which this kernel no longer mounts) with the tree mkfs was given and xfs_db's listings.
/// </summary>
[TestClass]
public sealed class XfsReadTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("default")]
    [DataRow("-m reflink=1,rmapbt=1")]
    [DataRow("-i sparse=1,nrext64=1")]
    [DataRow("-b size=1024")]
    [DataRow("-n size=8192")]
    [DataRow("-m crc=1,finobt=1,bigtime=1,inobtcount=1 -i size=1024")]
    public void A_v5_file_system_reads_exactly_as_the_kernel_reads_it(string options)
    {
        using var image = XfsTestImage.Create("xfs-read", options == "default" ? [] : options.Split(' '));
        var fs = image.Open();
        var ours = XfsTestImage.EngineListing(fs);
        List<string> kernel = [];
        var contentMismatches = new List<string>();
        XfsTestImage.WithKernelMount(image.ImagePath, readOnly: true, mount =>
        {
            kernel = XfsTestImage.KernelListing(mount);
            foreach (string line in kernel.Where(l => l.Split('\t')[1] == "f"))
            {
                string path = line.Split('\t')[0];
                var node = Resolve(fs, path);
                if (!fs.ReadFile(node).AsSpan().SequenceEqual(File.ReadAllBytes(mount + path)))
                {
                    contentMismatches.Add(path);
                }
            }
        });
        CollectionAssert.AreEqual(kernel, ours, "listing differs from the kernel's:\n" + string.Join("\n", kernel.Except(ours).Take(5)) + "\n--\n" + string.Join("\n", ours.Except(kernel).Take(5)));
        Assert.AreEqual(0, contentMismatches.Count, "contents differ: " + string.Join(", ", contentMismatches.Take(5)));
        Assert.IsTrue(ours.Count > 3300, $"only {ours.Count} nodes");
        Assert.AreEqual("xfs", fs.TypeName);
        Assert.IsNull(fs.WriteRefusal, "XFS on an overlay is writable");
    }

    [TestMethod]
    [DataRow("-m crc=0")]
    [DataRow("-m crc=0 -n ftype=0")]
    [DataRow("-m crc=0 -b size=1024 -n size=8192")]
    public void A_v4_file_system_reads_as_mkfs_was_given_and_as_xfs_db_lists_it(string options)
    {
        using var image = XfsTestImage.Create("xfs-read-v4", options.Split(' '));
        var fs = image.Open();
        Assert.AreEqual(4, fs.Superblock.Version);
        var ours = XfsTestImage.EngineListing(fs);
        int files = 0;
        foreach (string path in Directory.EnumerateFileSystemEntries(image.Tree, "*", SearchOption.AllDirectories))
        {
            string guest = path[image.Tree.Length..];
            var info = new FileInfo(path);
            var node = Resolve(fs, guest);
            if (info.LinkTarget is string target)
            {
                Assert.AreEqual(target, fs.ReadSymlink(node), guest);
            }
            else if (!Directory.Exists(path))
            {
                CollectionAssert.AreEqual(File.ReadAllBytes(path), fs.ReadFile(node), guest);
                Assert.AreEqual(OperatingSystem.IsWindows() ? 0 : (int)File.GetUnixFileMode(path) & 0xFFF, OperatingSystem.IsWindows() ? 0 : fs.Stat(node).Mode, guest);
                files++;
            }
        }
        Assert.AreEqual(Directory.EnumerateFileSystemEntries(image.Tree, "*", SearchOption.AllDirectories).Count(), ours.Count);
        Assert.IsTrue(files > 3300);
        // xfs_db lists the same names with the same inode numbers.
        foreach (string dir in new[] { "/etc", "/dirs/leaf", "/dirs/node" })
        {
            var expected = XfsDbNames(image.ImagePath, dir);
            var actual = fs.ListDirectory(Resolve(fs, dir)).Select(e => $"{e.Name} {e.Node}").Order(StringComparer.Ordinal).ToList();
            CollectionAssert.AreEqual(expected, actual, dir);
        }
    }

    [TestMethod]
    public void Every_directory_form_and_a_bmbt_file_are_met_and_read()
    {
        using var image = XfsTestImage.Create("xfs-forms", []);
        // Holes punched by the kernel turn a file into hundreds of extents: a bmap btree.
        XfsTestImage.WithKernelMount(image.ImagePath, readOnly: false, mount =>
        {
            string frag = Path.Combine(mount, "boot", "fragmented");
            var data = new byte[4 << 20];
            new Random(3).NextBytes(data);
            File.WriteAllBytes(frag, data);
            var punch = new List<string> { "-c", "fsync" };
            for (int i = 0; i < 400; i++)
            {
                punch.Add("-c");
                punch.Add($"fpunch {(i * 8192) + 4096} 4096");
            }
            ExternalTool.RunChecked("xfs_io", [.. punch, frag]);
            ExternalTool.RunChecked("xfs_io", "-f", "-c", "falloc 0 65536", "-c", "pwrite 8192 100", Path.Combine(mount, "boot", "unwritten"));
            File.CreateSymbolicLink(Path.Combine(mount, "etc", "remotelink"), "/" + new string('r', 1000) + "/target");
        });
        string img = image.ImagePath;
        StringAssert.Contains(Db(img, "/dirs/small", "core.format"), "(local)");
        StringAssert.Contains(Db(img, "/dirs/node", "core.format"), "(btree)");
        StringAssert.Contains(Db(img, "/boot/fragmented", "core.format"), "(btree)");
        StringAssert.Contains(Db(img, "/etc/remotelink", "core.format"), "(extents)");
        StringAssert.Contains(Db(img, "/etc/localtime", "core.format"), "(local)");

        var fs = image.Open();
        XfsTestImage.WithKernelMount(img, readOnly: true, mount =>
        {
            CollectionAssert.AreEqual(XfsTestImage.KernelListing(mount), XfsTestImage.EngineListing(fs));
            foreach (string p in new[] { "/boot/fragmented", "/boot/unwritten", "/boot/initramfs.img", "/dirs/node/02999-" + new string('j', 34) })
            {
                CollectionAssert.AreEqual(File.ReadAllBytes(mount + p), fs.ReadFile(Resolve(fs, p)), p);
            }
        });
        TestContext.WriteLine($"fragmented: {Db(img, "/boot/fragmented", "core.nextents").Trim()}");
    }

    [TestMethod]
    public void Extended_attributes_in_short_form_leaf_node_and_remote_values_read_as_the_kernel_reads_them()
    {
        using var image = XfsTestImage.Create("xfs-xattr", []);
        var label = Encoding.ASCII.GetBytes("system_u:object_r:etc_t:s0\0");
        var attrs = new List<(string, string, byte[])>
        {
            ("etc/fstab", "security.selinux", label),
            ("etc", "security.selinux", label),
            ("etc/localtime", "security.selinux", Encoding.ASCII.GetBytes("system_u:object_r:locale_t:s0\0")),
            ("boot/initramfs.img", "trusted.big", Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray()),
            ("boot/initramfs.img", "user.small", [1, 2, 3]),
        };
        for (int i = 0; i < 40; i++)
        {
            attrs.Add(("etc/os-release", $"user.leaf{i:D3}", Encoding.ASCII.GetBytes(new string('v', 40 + i))));
        }
        for (int i = 0; i < 600; i++)
        {
            attrs.Add(("etc/ssh/sshd_config", $"user.node-attribute-{i:D4}", Encoding.ASCII.GetBytes($"value {i} " + new string('n', i % 50))));
        }
        List<string> kernel = [];
        XfsTestImage.WithKernelMount(image.ImagePath, readOnly: false, mount => XfsTestImage.SetXattrs(mount, attrs));
        XfsTestImage.WithKernelMount(image.ImagePath, readOnly: true, mount => kernel = XfsTestImage.KernelXattrs(mount));
        string img = image.ImagePath;
        StringAssert.Contains(Db(img, "/etc/fstab", "core.aformat"), "(local)");
        StringAssert.Contains(Db(img, "/etc/os-release", "core.aformat"), "(extents)");
        var fs = image.Open();
        var ours = XfsTestImage.EngineXattrs(fs);
        Assert.AreEqual(attrs.Count, kernel.Count);
        CollectionAssert.AreEqual(kernel, ours);
        CollectionAssert.AreEqual(label, fs.ReadXattrs(Resolve(fs, "/etc/fstab"))["security.selinux"]);
    }

    [TestMethod]
    public void The_log_written_by_a_clean_kernel_unmount_is_accepted_and_a_shut_down_one_refused()
    {
        using var image = XfsTestImage.Create("xfs-log", []);
        XfsTestImage.WithKernelMount(image.ImagePath, readOnly: false, mount => File.WriteAllText(Path.Combine(mount, "etc", "new"), "x"));
        var fs = image.Open();
        Assert.AreEqual("x", Encoding.ASCII.GetString(fs.ReadFile(Resolve(fs, "/etc/new"))));

        XfsTestImage.WithKernelMount(image.ImagePath, readOnly: false, mount =>
        {
            File.WriteAllText(Path.Combine(mount, "etc", "lost"), "y");
            // -f: the changes reach the log first, and no unmount record follows them.
            ExternalTool.RunChecked("xfs_io", "-x", "-c", "shutdown -f", mount);
        });
        // xfs_repair agrees: the log holds changes.
        Assert.AreNotEqual(0, ExternalTool.Run("xfs_repair", ["-n", image.ImagePath]).ExitCode);
        var e = Assert.ThrowsExactly<LinuxImageException>(() => image.Open());
        Assert.AreEqual("LIMG0341", e.Descriptor.Code, e.Message);
    }

    internal static ulong Resolve(IFileSystem fs, string path)
    {
        ulong node = fs.RootNode;
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            node = fs.Lookup(node, part) ?? throw new FileNotFoundException(path);
        }
        return node;
    }

    private static string Db(string image, string path, string field) => XfsTestImage.Db(image, $"path {path}", "inode", $"print {field}");

    private static List<string> XfsDbNames(string image, string dir)
    {
        // xfs_db "ls" lines: offset, inode number, type, hash, name length, name, "(good)".
        var result = new List<string>();
        foreach (string line in XfsTestImage.Db(image, $"path {dir}", "ls").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.IsTrue(f.Length == 7 && f[6] == "(good)", line);
            if (f[5] is not "." and not "..")
            {
                result.Add($"{f[5]} {f[1]}");
            }
        }
        result.Sort(StringComparer.Ordinal);
        return result;
    }
}
