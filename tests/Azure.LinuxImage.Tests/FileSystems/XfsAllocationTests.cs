using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// Changes that allocate and free blocks (free-space btrees, AGFL, rmapbt, AGF and superblock
/// counters), judged by xfs_repair -n, by xfs_db's block map read from the image and by the kernel.
/// </summary>
[TestClass]
public sealed class XfsAllocationTests
{
    public TestContext TestContext { get; set; } = null!;

    public static readonly string[] Fixtures = ["default", "-m crc=0", "-m reflink=1,rmapbt=1", "-i sparse=1", "-b size=1024", "-n size=8192"];

    /// <summary>The fixtures every XFS write test runs on, as data rows.</summary>
    public static IEnumerable<object[]> FixtureRows => Fixtures.Select(f => new object[] { f });

    public static string[] Options(string fixture) => fixture == "default" ? [] : fixture.Split(' ');

    [TestMethod]
    [DynamicData(nameof(FixtureRows))]
    public void Files_grown_and_shrunk_keep_free_space_and_reverse_mappings_consistent(string fixture)
    {
        using var image = XfsTestImage.Create("xfs-alloc", Options(fixture));
        var fs = image.Open();
        var random = new Random(11);
        var initramfs = new byte[3_000_000];
        random.NextBytes(initramfs);
        var grubenv = new byte[70_000];
        random.NextBytes(grubenv);
        var entry = "title RHEL\nlinux /vmlinuz-5.14.0\noptions root=/dev/mapper/rhel-root ro console=ttyS0\n"u8.ToArray();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        fs.ReplaceContent(XfsReadTests.Resolve(fs, "/boot/initramfs.img"), initramfs);          // 300 KB -> 3 MB
        fs.ReplaceContent(XfsReadTests.Resolve(fs, "/boot/grub/grubenv"), grubenv);             // one block -> many
        fs.ReplaceContent(XfsReadTests.Resolve(fs, "/boot/loader/entries/abc-5.14.0.conf"), entry);
        ulong empty = XfsReadTests.Resolve(fs, "/etc/empty");
        fs.ReplaceContent(empty, "now something\n"u8);                                          // no blocks -> one
        // Shrinking frees: one of the node directory's files down to nothing, another to one block.
        var node = fs.ListDirectory(XfsReadTests.Resolve(fs, "/dirs/node"));
        fs.ReplaceContent(node[0].Node, []);
        fs.ReplaceContent(node[1].Node, "short"u8);
        var initramfs2 = initramfs.AsSpan(0, 2_000_000).ToArray();
        fs.ReplaceContent(XfsReadTests.Resolve(fs, "/boot/initramfs.img"), initramfs2);          // shrink again
        TestContext.WriteLine($"Engine time: seven allocating rewrites (grow 300 KB to 3 MB, 1 block to 70 KB, fill, empty, shrink) {clock.ElapsedMilliseconds} ms");
        CollectionAssert.AreEqual(initramfs2, fs.ReadFile(XfsReadTests.Resolve(fs, "/boot/initramfs.img")));
        string name0 = node[0].Name, name1 = node[1].Name;

        image.CommitAndRepair();
        CollectionAssert.AreEqual(initramfs2, XfsTestImage.DbContent(image.ImagePath, "/boot/initramfs.img"));
        CollectionAssert.AreEqual(grubenv, XfsTestImage.DbContent(image.ImagePath, "/boot/grub/grubenv"));
        CollectionAssert.AreEqual(entry, XfsTestImage.DbContent(image.ImagePath, "/boot/loader/entries/abc-5.14.0.conf"));
        CollectionAssert.AreEqual("now something\n"u8.ToArray(), XfsTestImage.DbContent(image.ImagePath, "/etc/empty"));
        Assert.AreEqual(0, XfsTestImage.DbContent(image.ImagePath, "/dirs/node/" + name0).Length);
        if (!fixture.Contains("crc=0", StringComparison.Ordinal))
        {
            XfsTestImage.WithKernelMount(image.ImagePath, readOnly: true, mount =>
            {
                CollectionAssert.AreEqual(initramfs2, File.ReadAllBytes(mount + "/boot/initramfs.img"));
                CollectionAssert.AreEqual(grubenv, File.ReadAllBytes(mount + "/boot/grub/grubenv"));
                CollectionAssert.AreEqual("short"u8.ToArray(), File.ReadAllBytes(mount + "/dirs/node/" + name1));
            });
        }
    }

    [TestMethod]
    public void Shared_reflinked_blocks_are_never_written_or_freed_and_unshared_files_of_a_reflink_file_system_are()
    {
        using var image = XfsTestImage.Create("xfs-reflink", ["-m", "reflink=1,rmapbt=1"]);
        XfsTestImage.WithKernelMount(image.ImagePath, readOnly: false, mount =>
            ExternalTool.RunChecked("cp", "--reflink=always", mount + "/boot/initramfs.img", mount + "/boot/initramfs.copy"));
        byte[] original = XfsTestImage.DbContent(image.ImagePath, "/boot/initramfs.img");
        var fs = image.Open();
        ulong boot = XfsReadTests.Resolve(fs, "/boot");
        ulong shared = XfsReadTests.Resolve(fs, "/boot/initramfs.img");
        Assert.AreEqual("LIMG0342", Assert.ThrowsExactly<LinuxImageException>(() => fs.ReplaceContent(shared, new byte[10])).Descriptor.Code);
        Assert.AreEqual("LIMG0342", Assert.ThrowsExactly<LinuxImageException>(() => fs.Delete(boot, "initramfs.copy")).Descriptor.Code);
        Assert.AreEqual("LIMG0342", Assert.ThrowsExactly<LinuxImageException>(() => fs.Rename(XfsReadTests.Resolve(fs, "/etc"), "fstab", boot, "initramfs.img")).Descriptor.Code);
        Assert.IsTrue(image.Overlay!.IsEmpty, "a refused change wrote something");
        // A file that shares nothing is rewritten as on any file system.
        var grubenv = new byte[50_000];
        new Random(3).NextBytes(grubenv);
        fs.ReplaceContent(XfsReadTests.Resolve(fs, "/boot/grub/grubenv"), grubenv);
        image.CommitAndRepair();
        XfsTestImage.WithKernelMount(image.ImagePath, readOnly: true, mount =>
        {
            CollectionAssert.AreEqual(original, File.ReadAllBytes(mount + "/boot/initramfs.img"));
            CollectionAssert.AreEqual(original, File.ReadAllBytes(mount + "/boot/initramfs.copy"));
            CollectionAssert.AreEqual(grubenv, File.ReadAllBytes(mount + "/boot/grub/grubenv"));
        });
    }

    [TestMethod]
    [DataRow("default", "agf {data}|addr bnoroot|write -d numrecs 5000")]              // more records than a block holds
    [DataRow("default", "agf {data}|addr cntroot|write -d numrecs 0")]                 // the btrees disagree
    [DataRow("default", "agf {data}|write -d freeblks 7")]                             // AGF disagrees with its btree
    [DataRow("default", "agi {boot}|addr root|write -d recs[1].freecount 3")]          // an inode record disagrees with itself
    [DataRow("-m reflink=1,rmapbt=1", "agf {data}|addr rmaproot|write -d magic 0")]   // reverse mappings unreadable
    [DataRow("-m reflink=1,rmapbt=1", "agf {data}|addr refcntroot|write -d level 3")] // reference counts unreadable
    public void Damaged_allocation_structures_are_LIMG0340_before_anything_is_written(string fixture, string damage)
    {
        using var image = XfsTestImage.Create("xfs-alloc-damage", Options(fixture));
        if (damage.Contains("refcnt", StringComparison.Ordinal))
        {
            XfsTestImage.WithKernelMount(image.ImagePath, readOnly: false, mount =>
                ExternalTool.RunChecked("cp", "--reflink=always", mount + "/boot/initramfs.img", mount + "/boot/initramfs.copy"));
        }
        // Damage where the change goes: the group of the file's data, and of /boot's inode (new inodes are taken there first).
        string dataAg = System.Text.RegularExpressions.Regex.Match(XfsTestImage.Db(image.ImagePath, "path /boot/initramfs.img", "bmap"), @"\((\d+)/").Groups[1].Value;
        var probe = image.Open();
        string bootAg = (XfsReadTests.Resolve(probe, "/boot") >> (probe.Superblock.AgBlockLog + probe.Superblock.InodesPerBlockLog)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        image.Close();
        XfsTestImage.DbWrite(image.ImagePath, damage.Replace("{data}", dataAg, StringComparison.Ordinal).Replace("{boot}", bootAg, StringComparison.Ordinal).Split('|'));
        var fs = image.Open();
        ulong boot = XfsReadTests.Resolve(fs, "/boot");
        var e = Assert.ThrowsExactly<LinuxImageException>(() =>
        {
            if (!damage.StartsWith("agi", StringComparison.Ordinal))
            {
                fs.ReplaceContent(XfsReadTests.Resolve(fs, "/boot/initramfs.img"), new byte[2_000_000]);
            }
            fs.CreateFile(boot, "new", "x"u8, 0x1A4, 0, 0);
        });
        Assert.AreEqual("LIMG0340", e.Descriptor.Code, e.Message);
        Assert.IsTrue(image.Overlay!.IsEmpty, "a refused change wrote something");
    }

    [TestMethod]
    [DataRow("default")]
    [DataRow("-m reflink=1,rmapbt=1")]
    [DataRow("-b size=1024")]
    public void A_fragmented_file_gets_a_bmbt_and_gives_it_back(string fixture)
    {
        using var image = XfsTestImage.Create("xfs-bmbt", Options(fixture));
        // The kernel writes every other block of /frag, /fill taking the blocks between (direct I/O
        // allocates at once): /frag has a bmbt and holes that cannot be filled in place.
        XfsTestImage.WithKernelMount(image.ImagePath, readOnly: false, mount =>
        {
            int bs = fixture.Contains("1024", StringComparison.Ordinal) ? 1024 : 4096;
            var script = new System.Text.StringBuilder("set -e\n");
            // 2n extents once the holes are filled: more than the inode holds, fewer than one bmbt leaf (59 with 1 KiB blocks).
            for (int i = 0; i < (bs == 1024 ? 25 : 40); i++)
            {
                script.Append($"xfs_io -d -f -c 'pwrite -q -S 0x41 {i * 2 * bs} {bs}' -c fsync {mount}/frag\n");
                script.Append($"xfs_io -d -f -c 'pwrite -q -S 0x42 {i * bs} {bs}' -c fsync {mount}/fill\n");
            }
            var r = ExternalTool.Run("bash", ["-c", script.ToString()]);
            Assert.AreEqual(0, r.ExitCode, r.All);
        });
        StringAssert.Contains(XfsTestImage.Db(image.ImagePath, "path /frag", "inode", "print core.format"), "(btree)");
        var fs = image.Open();
        ulong frag = XfsReadTests.Resolve(fs, "/frag");
        var content = new byte[(int)fs.Stat(frag).Size + 10];
        new Random(5).NextBytes(content);
        fs.ReplaceContent(frag, content);   // holes filled elsewhere: more extents than the inode holds, a new bmbt
        var small = "two blocks or less"u8.ToArray();
        fs.CreateFile(fs.RootNode, "other", content, 0x1A4, 0, 0);
        image.CommitAndRepair();
        StringAssert.Contains(XfsTestImage.Db(image.ImagePath, "path /frag", "inode", "print core.format"), "(btree)");
        CollectionAssert.AreEqual(content, XfsTestImage.DbContent(image.ImagePath, "/frag"));
        XfsTestImage.WithKernelMount(image.ImagePath, readOnly: true, mount => CollectionAssert.AreEqual(content, File.ReadAllBytes(mount + "/frag")));

        fs = image.Open();
        fs.ReplaceContent(XfsReadTests.Resolve(fs, "/frag"), small);   // back to an extent list, the bmbt freed
        fs.Delete(fs.RootNode, "fill");
        image.CommitAndRepair();
        StringAssert.Contains(XfsTestImage.Db(image.ImagePath, "path /frag", "inode", "print core.format"), "(extents)");
        CollectionAssert.AreEqual(small, XfsTestImage.DbContent(image.ImagePath, "/frag"));
    }
}
