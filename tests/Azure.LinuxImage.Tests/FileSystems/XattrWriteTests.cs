using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks.Raw;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.FileSystems.Btrfs;
using Azure.LinuxImage.Engine.FileSystems.Ext4;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// Extended attributes written through the file-system seam (SetXattr / RemoveXattr) on nodes the
/// engine creates — a file, a directory that then grows past its in-inode form, a symbolic link —
/// judged by each file system's own checker (e2fsck -fn, xfs_repair -n, btrfs check --readonly),
/// its debugger (debugfs ea_get, xfs_db), and getfattr on a read-only kernel mount.
/// </summary>
[TestClass]
public sealed class XattrWriteTests
{
    private const string Selinux = "security.selinux";
    private static readonly byte[] EtcLabel = Encoding.ASCII.GetBytes("system_u:object_r:etc_t:s0");
    private static readonly byte[] ConfLabel = Encoding.ASCII.GetBytes("system_u:object_r:waagent_etc_t:s0\0");

    [TestMethod]
    [DataRow("-t ext4")]
    [DataRow("-t ext4 -O ^metadata_csum")]
    [DataRow("-t ext3")]
    public void Ext4_labels_in_the_inode_pass_e2fsck_and_read_back_through_debugfs_and_the_kernel(string mkfs)
    {
        using var image = Ext4TestImage.Create("xattr-ext4", 64, mkfs.Split(' '));
        var expected = Scenario(image.FileSystem, extras: true);
        string written = image.AssertCleanAfterChanges();
        AssertDebugfs(written, expected);
        AssertKernel(written, "ro,loop", expected);
    }

    /// <summary>128-byte inodes have no extra space: the label goes to a new attribute block; a second attribute would need that block changed, which is refused.</summary>
    [TestMethod]
    public void Ext4_labels_of_small_inodes_go_to_a_new_attribute_block_and_changing_it_is_refused()
    {
        using var image = Ext4TestImage.Create("xattr-ext4-128", 64, ["-t", "ext4", "-I", "128"]);
        var fs = image.FileSystem;
        var expected = Scenario(fs, extras: false);
        ulong file = Resolve(fs, "/etc/waagent.conf");
        int before = image.Overlay.GetChanges().Count;
        byte[] bytesBefore = [.. image.Overlay.GetChanges().SelectMany(c => c.Data)];
        var refused = Assert.ThrowsExactly<LinuxImageException>(() => ((IFileSystem)fs).SetXattr(file, "user.more", [1, 2, 3]));
        Assert.AreEqual("LIMG0332", refused.Descriptor.Code, refused.Message);
        Assert.AreEqual(before, image.Overlay.GetChanges().Count, "nothing written");
        CollectionAssert.AreEqual(bytesBefore, image.Overlay.GetChanges().SelectMany(c => c.Data).ToArray(), "nothing written");
        string written = image.AssertCleanAfterChanges();
        StringAssert.Contains(Ext4TestImage.Debugfs(written, "stat /etc/waagent.conf"), "File ACL: ");
        Assert.DoesNotContain("File ACL: 0", Ext4TestImage.Debugfs(written, "stat /etc/waagent.conf"));
        AssertDebugfs(written, expected);
        AssertKernel(written, "ro,loop", expected);
    }

    [TestMethod]
    [DataRow("default")]
    [DataRow("-m crc=0")]
    [DataRow("-i size=1024")]
    public void Xfs_short_form_labels_pass_xfs_repair_and_read_back_through_xfs_db_and_the_kernel(string options)
    {
        using var image = XfsTestImage.Create("xattr-xfs", options == "default" ? [] : options.Split(' '));
        bool v5 = !options.Contains("crc=0", StringComparison.Ordinal);
        if (v5)
        {
            // A fork the kernel laid out (its own di_forkoff) that the engine then changes.
            XfsTestImage.WithKernelMount(image.ImagePath, readOnly: false, mount => XfsTestImage.SetXattrs(mount, [("etc/fstab", Selinux, EtcLabel)]));
        }
        var fs = image.Open();
        fs.Clock = () => new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var expected = Scenario(fs, extras: true);
        if (v5)
        {
            ulong fstab = Resolve(fs, "/etc/fstab");
            fs.SetXattr(fstab, "user.limg", "added beside the kernel fork"u8);
            fs.SetXattr(fstab, Selinux, ConfLabel);
            expected["/etc/fstab"] = new() { [Selinux] = ConfLabel, ["user.limg"] = "added beside the kernel fork"u8.ToArray() };
        }
        image.CommitAndRepair();
        foreach (var (path, attrs) in expected)
        {
            // xfs_db refuses a whole print when a field is absent, so the fork is printed only where there is one.
            string core = XfsTestImage.Db(image.ImagePath, $"path {path}", "inode", "print core.aformat core.forkoff");
            Console.WriteLine($"{path}: {core.Split('\n').FirstOrDefault(l => l.StartsWith("core.forkoff", StringComparison.Ordinal))}");
            if (attrs.Count == 0)
            {
                StringAssert.Contains(core, "core.forkoff = 0", path);
                StringAssert.Contains(core, "core.aformat = 2 (extents)", path);
                continue;
            }
            StringAssert.Contains(core, "core.aformat = 1 (local)", path);
            string db = XfsTestImage.Db(image.ImagePath, $"path {path}", "inode", "print a");
            StringAssert.Contains(db, $"a.sfattr.hdr.count = {attrs.Count}", path);
            foreach (var (name, value) in attrs)
            {
                string shortName = name[(name.IndexOf('.', StringComparison.Ordinal) + 1)..];
                StringAssert.Contains(db, $"name = \"{shortName}\"", path);
                // xfs_db prints values as C strings; the labels are printable up to their last NUL.
                string text = Encoding.ASCII.GetString(value).TrimEnd('\0');
                if (text.All(c => c is >= ' ' and <= '~'))
                {
                    StringAssert.Contains(db, $"value = \"{text}", path);
                }
            }
        }
        StringAssert.Matches(XfsTestImage.Db(image.ImagePath, "version"), new System.Text.RegularExpressions.Regex(@"\bATTR\b"), "the superblock says the file system has attributes (ATTRBIT)");
        if (!v5)
        {
            // This kernel no longer mounts v4 (CONFIG_XFS_SUPPORT_V4 off); xfs_repair and xfs_db judge it.
            return;
        }
        XfsTestImage.WithKernelMount(image.ImagePath, readOnly: true, mount => AssertAttributes(mount, expected));
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("--nodesize 4096")]
    public void Btrfs_xattr_items_pass_btrfs_check_and_read_back_through_the_kernel(string mkfs)
    {
        using var temp = new TempDir("xattr-btrfs");
        string image = BtrfsTestImage.Create(temp, 256, mkfs.Length == 0 ? [] : mkfs.Split(' '));
        using var volume = FileVolume.OpenRead(image);
        var overlay = new DiskOverlay(volume);
        var fs = BtrfsFileSystem.Open(overlay, image, "");
        fs.Clock = () => new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var expected = Scenario(fs, extras: true);
        string written = OverlayCopy.Write(overlay, image, temp);
        BtrfsWriteTests.Check(written);
        string tree = ExternalTool.RunChecked("btrfs", "inspect-internal", "dump-tree", "-t", "fs", written).StdOut;
        StringAssert.Contains(tree, "XATTR_ITEM");
        StringAssert.Contains(tree, "name: security.selinux");
        AssertKernel(written, "ro,loop", expected);
    }

    /// <summary>Two names whose crc32c hashes collide share one XATTR_ITEM, entry after entry; removing one leaves the other in it.</summary>
    [TestMethod]
    public void Btrfs_colliding_attribute_names_share_one_item_as_btrfs_packs_them()
    {
        var seen = new Dictionary<ulong, string>();
        (string A, string B) pair = ("", "");
        // A birthday search over 32-bit hashes: random names collide within a few hundred thousand
        // (counted names would not: a CRC tells apart inputs that differ in a short burst).
        var random = new Random(1);
        for (int i = 0; i < 2_000_000 && pair.A.Length == 0; i++)
        {
            string name = "user." + string.Concat(Enumerable.Range(0, 10).Select(_ => (char)('a' + random.Next(26))));
            ulong hash = BtrfsFileSystem.NameHash(Encoding.ASCII.GetBytes(name));
            if (seen.TryGetValue(hash, out var other))
            {
                pair = (other, name);
            }
            seen[hash] = name;
        }
        Assert.AreNotEqual("", pair.A, "no crc32c collision found");
        Console.WriteLine($"colliding names: {pair.A} {pair.B}");
        using var temp = new TempDir("xattr-btrfs-collide");
        string image = BtrfsTestImage.Create(temp, 256, []);
        using var volume = FileVolume.OpenRead(image);
        var overlay = new DiskOverlay(volume);
        var fs = BtrfsFileSystem.Open(overlay, image, "");
        ulong file = fs.CreateFile(Resolve(fs, "/etc"), "collide.conf", "x"u8, 0x1A4, 0, 0);
        fs.SetXattr(file, pair.A, "first"u8);
        fs.SetXattr(file, pair.B, "second"u8);
        fs.SetXattr(file, Selinux, EtcLabel);
        string both = OverlayCopy.Write(overlay, image, temp);
        BtrfsWriteTests.Check(both);
        var expected = new SortedDictionary<string, Dictionary<string, byte[]>>(StringComparer.Ordinal)
        {
            ["/etc/collide.conf"] = new() { [pair.A] = "first"u8.ToArray(), [pair.B] = "second"u8.ToArray(), [Selinux] = EtcLabel },
        };
        AssertKernel(both, "ro,loop", expected);
        string tree = ExternalTool.RunChecked("btrfs", "inspect-internal", "dump-tree", "-t", "fs", both).StdOut;
        Assert.AreEqual(2, tree.Split('\n').Count(l => l.Contains($"key ({file} XATTR_ITEM", StringComparison.Ordinal)), "one item for the colliding pair, one for the label");

        fs.RemoveXattr(file, pair.A);
        string one = OverlayCopy.Write(overlay, image, temp);
        BtrfsWriteTests.Check(one);
        expected["/etc/collide.conf"].Remove(pair.A);
        AssertKernel(one, "ro,loop", expected);
    }

    [TestMethod]
    public void Fat_refuses_extended_attributes()
    {
        using var temp = new TempDir("xattr-fat");
        string image = temp["fat.img"];
        using (var f = File.Create(image))
        {
            f.SetLength(64L << 20);
        }
        ExternalTool.RunChecked("mkfs.vfat", "-F", "32", image);
        using var volume = FileVolume.OpenRead(image);
        var overlay = new DiskOverlay(volume);
        IFileSystem fs = Azure.LinuxImage.Engine.FileSystems.Fat.FatFileSystem.Open(overlay, image);
        ulong file = fs.CreateFile(fs.RootNode, "grub.cfg", "x"u8, 0x1A4, 0, 0);
        var changes = overlay.GetChanges().Sum(c => c.Data.Length);
        var refused = Assert.ThrowsExactly<LinuxImageException>(() => fs.SetXattr(file, Selinux, EtcLabel));
        Assert.AreEqual("LIMG0332", refused.Descriptor.Code, refused.Message);
        fs.RemoveXattr(file, Selinux);
        Assert.AreEqual(changes, overlay.GetChanges().Sum(c => c.Data.Length), "nothing written");
        Assert.IsEmpty(fs.ReadXattrs(file));
    }

    /// <summary>
    /// Through the seam: a file with data, a directory and a link in /etc get a label; the directory
    /// then takes 40 labelled files (beyond every in-inode directory form). With extras the file's
    /// label is replaced and a user attribute added, and the link's extra attribute added then removed.
    /// Returns what each path must carry afterwards.
    /// </summary>
    private static SortedDictionary<string, Dictionary<string, byte[]>> Scenario(IFileSystem fs, bool extras)
    {
        var expected = new SortedDictionary<string, Dictionary<string, byte[]>>(StringComparer.Ordinal);
        ulong etc = Resolve(fs, "/etc");
        ulong file = fs.CreateFile(etc, "waagent.conf", Encoding.ASCII.GetBytes(new string('w', 5000)), 0x1A4, 0, 0);
        ulong dir = fs.CreateDirectory(etc, "limg.d", 0x1ED, 0, 0);
        ulong link = fs.CreateSymlink(etc, "limg-link", "/usr/lib/limg/target.conf", 0, 0);
        ulong bare = fs.CreateFile(etc, "unlabelled", "x"u8, 0x1A4, 0, 0);
        foreach (ulong node in new[] { file, dir, link })
        {
            fs.SetXattr(node, Selinux, EtcLabel);
        }
        expected["/etc/waagent.conf"] = new() { [Selinux] = EtcLabel };
        expected["/etc/limg.d"] = new() { [Selinux] = EtcLabel };
        expected["/etc/limg-link"] = new() { [Selinux] = EtcLabel };
        for (int i = 0; i < 40; i++)
        {
            string name = $"{i:D2}-azure-{new string('c', 20)}.conf";
            ulong child = fs.CreateFile(dir, name, Encoding.ASCII.GetBytes(name), 0x1A4, 0, 0);
            fs.SetXattr(child, Selinux, EtcLabel);
            expected[$"/etc/limg.d/{name}"] = new() { [Selinux] = EtcLabel };
        }
        if (extras)
        {
            fs.SetXattr(file, Selinux, ConfLabel);
            fs.SetXattr(file, "user.limg", [0x01, 0x00, 0xFF]);
            expected["/etc/waagent.conf"] = new() { [Selinux] = ConfLabel, ["user.limg"] = [0x01, 0x00, 0xFF] };
            fs.SetXattr(link, "trusted.gone", "soon"u8);
            fs.RemoveXattr(link, "trusted.gone");
            fs.SetXattr(bare, "user.gone", "soon"u8);
            fs.RemoveXattr(bare, "user.gone");
            fs.RemoveXattr(bare, "user.never");
        }
        expected["/etc/unlabelled"] = [];
        foreach (var (path, attrs) in expected)
        {
            var read = fs.ReadXattrs(Resolve(fs, path));
            CollectionAssert.AreEquivalent(attrs.Keys.ToList(), read.Keys.ToList(), path);
            foreach (var (name, value) in attrs)
            {
                CollectionAssert.AreEqual(value, read[name], $"{path} {name}");
            }
        }
        return expected;
    }

    private static void AssertDebugfs(string image, SortedDictionary<string, Dictionary<string, byte[]>> expected)
    {
        foreach (var (path, attrs) in expected)
        {
            string list = Ext4TestImage.Debugfs(image, $"ea_list {path}");
            foreach (var (name, value) in attrs)
            {
                string hex = Ext4TestImage.Debugfs(image, $"ea_get -x {path} {name}");
                string bytes = string.Join(' ', value.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
                StringAssert.Contains(hex, $"{name} ({value.Length}) = {bytes}", path);
            }
            Assert.AreEqual(attrs.Count, list.Split('\n').Count(l => l.StartsWith("  ", StringComparison.Ordinal)), $"{path}: {list}");
        }
    }

    private static void AssertKernel(string image, string options, SortedDictionary<string, Dictionary<string, byte[]>> expected)
    {
        using var temp = new TempDir("xattr-mnt");
        string mountPoint = temp["mnt"];
        Directory.CreateDirectory(mountPoint);
        ExternalTool.RunChecked("mount", "-o", options, image, mountPoint);
        try
        {
            AssertAttributes(mountPoint, expected);
        }
        finally
        {
            ExternalTool.RunChecked("umount", mountPoint);
        }
    }

    /// <summary>getfattr -d -m - on every expected path of a mount: exactly the expected attributes.</summary>
    private static void AssertAttributes(string mountPoint, SortedDictionary<string, Dictionary<string, byte[]>> expected)
    {
        foreach (var (path, attrs) in expected)
        {
            var actual = Getfattr(mountPoint + path);
            CollectionAssert.AreEquivalent(attrs.Keys.ToList(), actual.Keys.ToList(), path);
            foreach (var (name, value) in attrs)
            {
                CollectionAssert.AreEqual(value, actual[name], $"{path} {name}");
            }
        }
    }

    /// <summary>Every extended attribute getfattr shows for a path (not following a link), decoded from hex.</summary>
    public static Dictionary<string, byte[]> Getfattr(string path)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        string output = ExternalTool.RunChecked("getfattr", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", path).StdOut;
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            string value = eq < 0 ? "" : line[(eq + 1)..];
            result[eq < 0 ? line : line[..eq]] = value.StartsWith("0x", StringComparison.Ordinal) ? Convert.FromHexString(value[2..]) : [];
        }
        return result;
    }

    private static ulong Resolve(IFileSystem fs, string path) => XfsReadTests.Resolve(fs, path);
}
