using System.Text;
using Azure.LinuxImage.Engine.FileSystems.Ext4;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>Every change the engine makes, on every ext variant mke2fs produces, judged by e2fsck -fn and debugfs.</summary>
[TestClass]
public sealed class Ext4WriteTests
{
    public static IEnumerable<object[]> Variants =>
    [
        ["ext4", new[] { "-t", "ext4" }],
        ["ext4-1k", new[] { "-t", "ext4", "-b", "1024" }],
        ["ext4-nocsum", new[] { "-t", "ext4", "-O", "^metadata_csum" }],
        ["ext4-no64bit", new[] { "-t", "ext4", "-O", "^64bit" }],
        ["ext4-csumseed", new[] { "-t", "ext4", "-O", "metadata_csum_seed" }],
        ["ext4-128inode", new[] { "-t", "ext4", "-I", "128" }],
        ["ext4-inline", new[] { "-t", "ext4", "-O", "inline_data" }],
        ["ext3", new[] { "-t", "ext3" }],
        ["ext2", new[] { "-t", "ext2" }],
        ["ext2-1k", new[] { "-t", "ext2", "-b", "1024" }],
    ];

    private static uint Resolve(Ext4FileSystem fs, string path)
    {
        uint current = Ext4FileSystem.RootInode;
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            current = fs.Lookup(fs.ReadInode(current), part);
            Assert.AreNotEqual(0u, current, $"{path} not found");
        }
        return current;
    }

    [TestMethod]
    [DynamicData(nameof(Variants))]
    public void Every_change_leaves_a_clean_file_system_with_the_intended_contents(string name, string[] options)
    {
        using var img = Ext4TestImage.Create(name, 24, options);
        // Owner, mode and xattrs the replace must keep: an SELinux label in the inode and a large one in an attribute block.
        ExternalTool.RunChecked("debugfs", "-w", "-R", "ea_set /etc/fstab security.selinux system_u:object_r:etc_t:s0", img.ImagePath);
        ExternalTool.RunChecked("debugfs", "-w", "-R", "ea_set /etc/ssh/sshd_config user.big " + new string('v', 600), img.ImagePath);
        ExternalTool.RunChecked("debugfs", "-w", "-R", "sif /etc/fstab uid 1234", img.ImagePath);
        ExternalTool.RunChecked("debugfs", "-w", "-R", "sif /etc/fstab mode 0100640", img.ImagePath);
        using var reopened = ReopenAfterExternalEdit(img);
        var fs = reopened.FileSystem;

        uint fstab = Resolve(fs, "/etc/fstab");
        uint sshd = Resolve(fs, "/etc/ssh/sshd_config");
        uint etc = Resolve(fs, "/etc");
        uint boot = Resolve(fs, "/boot");
        var large = new byte[700_000];
        new Random(1).NextBytes(large);

        fs.ReplaceContent(fstab, Encoding.UTF8.GetBytes("UUID=abcd / ext4 defaults 0 1\n"));
        fs.ReplaceContent(sshd, large);                       // grow into many blocks
        fs.ReplaceContent(Resolve(fs, "/boot/initrd.img"), "small"u8); // shrink
        uint newDir = fs.CreateDirectory(etc, "waagent.d", 0x1ED);
        fs.CreateFile(newDir, "waagent.conf", "ResourceDisk.Format=y\n"u8, 0x180, 0, 0);
        fs.CreateSymlink(etc, "fastlink", "waagent.d/waagent.conf");
        fs.CreateSymlink(etc, "slowlink", "/" + new string('s', 200));
        fs.Delete(etc, "os-release");
        fs.Delete(etc, "longlink");
        fs.Rename(boot, "grub", etc, "grub-moved");           // a directory changes parent
        fs.Rename(etc, "localtime", etc, "localtime.old");
        fs.CreateFile(Resolve(fs, "/var/lib/empty"), "x", [], 0x1A4);
        fs.Delete(Resolve(fs, "/var/lib/empty"), "x");

        string copy = reopened.AssertCleanAfterChanges();
        CollectionAssert.AreEqual(Encoding.UTF8.GetBytes("UUID=abcd / ext4 defaults 0 1\n"), Ext4TestImage.DebugfsCat(copy, "/etc/fstab"));
        CollectionAssert.AreEqual(large, Ext4TestImage.DebugfsCat(copy, "/etc/ssh/sshd_config"));
        CollectionAssert.AreEqual("small"u8.ToArray(), Ext4TestImage.DebugfsCat(copy, "/boot/initrd.img"));
        CollectionAssert.AreEqual("ResourceDisk.Format=y\n"u8.ToArray(), Ext4TestImage.DebugfsCat(copy, "/etc/waagent.d/waagent.conf"));
        CollectionAssert.AreEqual("linux /vmlinuz root=UUID=1234 quiet\n"u8.ToArray(), Ext4TestImage.DebugfsCat(copy, "/etc/grub-moved/grub.cfg"));

        string stat = Ext4TestImage.Debugfs(copy, "stat /etc/fstab");
        StringAssert.Contains(stat, "User:  1234");
        StringAssert.Contains(stat, "Mode:  0640");
        string eas = Ext4TestImage.Debugfs(copy, "ea_list /etc/fstab");
        StringAssert.Contains(eas, "security.selinux (26) = \"system_u:object_r:etc_t:s0\"");
        StringAssert.Contains(Ext4TestImage.Debugfs(copy, "ea_list /etc/ssh/sshd_config"), "user.big (600)");
        StringAssert.Contains(Ext4TestImage.Debugfs(copy, "stat /etc/waagent.d/waagent.conf"), "Mode:  0600");
        StringAssert.Contains(Ext4TestImage.Debugfs(copy, "stat /etc/fastlink"), "Fast link dest: \"waagent.d/waagent.conf\"");
        StringAssert.Contains(Ext4TestImage.Debugfs(copy, "cat /etc/slowlink"), "/" + new string('s', 200));
        StringAssert.Contains(Ext4TestImage.Debugfs(copy, "ls -l /etc/grub-moved"), "grub.cfg");
        Assert.IsFalse(Ext4TestImage.Debugfs(copy, "ls /etc").Contains("os-release", StringComparison.Ordinal));
        StringAssert.Contains(Ext4TestImage.Debugfs(copy, "stat /etc/grub-moved/.."), "Type: directory");
    }

    /// <summary>
    /// A directory the kernel turned into an htree (as /etc/ssl/certs is on a copied root): its root
    /// block keeps the checksum tail of the linear block it was made from inside ".."'s record, so
    /// reading it as a leaf block's tail called the image damaged. Read, looked up and written here,
    /// judged by e2fsck and the kernel.
    /// </summary>
    [TestMethod]
    public void A_directory_the_kernel_indexed_is_read_and_changed()
    {
        using var img = Ext4TestImage.Create("kernel-htree", 16, ["-t", "ext4"]);
        var names = Enumerable.Range(0, 300).Select(i => $"certificate-authority-number-{i:D4}.pem").ToList();
        XfsTestImage.WithKernelMount(img.ImagePath, readOnly: false, mnt =>
        {
            Directory.CreateDirectory(Path.Combine(mnt, "etc/certs"));
            foreach (string n in names)
            {
                File.WriteAllText(Path.Combine(mnt, "etc/certs", n), n);
            }
        });
        StringAssert.Contains(Ext4TestImage.Debugfs(img.ImagePath, "stat /etc/certs"), "Flags: 0x81000", "the kernel indexed the directory");
        using var reopened = Ext4TestImage.Reopen(img);
        var fs = reopened.FileSystem;
        uint certs = Resolve(fs, "/etc/certs");
        var listed = fs.ReadDirectory(fs.ReadInode(certs)).Select(e => e.Name).Where(n => n is not "." and not "..").Order(StringComparer.Ordinal).ToList();
        CollectionAssert.AreEqual(names, listed);
        foreach (string n in names)
        {
            Assert.AreEqual(n, Encoding.UTF8.GetString(fs.ReadData(fs.ReadInode(Resolve(fs, "/etc/certs/" + n)))));
        }
        fs.CreateFile(certs, "added-by-the-engine.pem", "new"u8, 0x1A4);
        fs.Delete(certs, names[7]);
        string copy = reopened.AssertCleanAfterChanges();
        CollectionAssert.AreEqual("new"u8.ToArray(), Ext4TestImage.DebugfsCat(copy, "/etc/certs/added-by-the-engine.pem"));
        XfsTestImage.WithKernelMount(copy, readOnly: true, mnt =>
        {
            Assert.AreEqual("new", File.ReadAllText(Path.Combine(mnt, "etc/certs/added-by-the-engine.pem")));
            Assert.IsFalse(File.Exists(Path.Combine(mnt, "etc/certs", names[7])));
            Assert.AreEqual(300, Directory.GetFiles(Path.Combine(mnt, "etc/certs")).Length);
        });
    }

    [TestMethod]
    public void Inline_files_and_directories_are_read_and_moved_out_of_the_inode_when_changed()
    {
        using var img = Ext4TestImage.Create("inline", 16, ["-t", "ext4", "-O", "inline_data"]);
        ExternalTool.RunChecked("debugfs", "-w", "-R", "ea_set /etc/fstab security.selinux system_u:object_r:etc_t:s0", img.ImagePath);
        using var reopened = Ext4TestImage.Reopen(img);
        var fs = reopened.FileSystem;
        uint fstab = Resolve(fs, "/etc/fstab");
        var inode = fs.ReadInode(fstab);
        Assert.AreNotEqual(0u, inode.Flags & Ext4Inode.FlagInlineData, "fixture file is not inline");
        Assert.AreEqual("UUID=1234 / ext4 defaults 0 1\n", Encoding.UTF8.GetString(fs.ReadData(inode)));
        var ssh = fs.ReadInode(Resolve(fs, "/etc/ssh"));
        Assert.AreNotEqual(0u, ssh.Flags & Ext4Inode.FlagInlineData, "fixture directory is not inline");
        Assert.AreEqual(Resolve(fs, "/etc/ssh/sshd_config"), fs.Lookup(ssh, "sshd_config"));
        uint emptyDir = Resolve(fs, "/var/lib/empty");

        var longer = Encoding.UTF8.GetBytes(new string('u', 5000));
        fs.ReplaceContent(fstab, longer);
        fs.ReplaceContent(Resolve(fs, "/etc/os-release"), "ID=debian\n"u8);
        fs.CreateFile(ssh.Number, "sshd_config.d-note", "x"u8, 0x1A4);
        fs.CreateFile(emptyDir, "tmp", "t"u8, 0x1A4);
        fs.Delete(emptyDir, "tmp");
        Assert.AreNotEqual(0u, fs.ReadInode(Resolve(fs, "/boot/grub")).Flags & Ext4Inode.FlagInlineData, "fixture directory is not inline");
        fs.Delete(Resolve(fs, "/boot/grub"), "grub.cfg");
        fs.Rename(Resolve(fs, "/etc"), "ssh", Resolve(fs, "/var"), "ssh-moved");
        string copy = reopened.AssertCleanAfterChanges();
        CollectionAssert.AreEqual(longer, Ext4TestImage.DebugfsCat(copy, "/etc/fstab"));
        CollectionAssert.AreEqual("ID=debian\n"u8.ToArray(), Ext4TestImage.DebugfsCat(copy, "/etc/os-release"));
        StringAssert.Contains(Ext4TestImage.Debugfs(copy, "ea_list /etc/fstab"), "security.selinux (26) = \"system_u:object_r:etc_t:s0\"");
        Assert.IsFalse(Ext4TestImage.Debugfs(copy, "ea_list /etc/fstab").Contains("system.data", StringComparison.Ordinal));
        // debugfs dumps an inline file as its whole 60-byte inline area; the untouched file's first 19 bytes are its content.
        StringAssert.Contains(Ext4TestImage.Debugfs(copy, "stat /var/ssh-moved/sshd_config"), "Size: 19");
        CollectionAssert.AreEqual("PermitRootLogin no\n"u8.ToArray(), Ext4TestImage.DebugfsCat(copy, "/var/ssh-moved/sshd_config")[..19]);
        CollectionAssert.AreEqual("x"u8.ToArray(), Ext4TestImage.DebugfsCat(copy, "/var/ssh-moved/sshd_config.d-note"));
        Assert.IsFalse(Ext4TestImage.Debugfs(copy, "ls /boot/grub").Contains("grub.cfg", StringComparison.Ordinal));
    }

    [TestMethod]
    [DataRow("meta_bg,^resize_inode")]
    [DataRow("bigalloc")]
    [DataRow("quota,project")]
    public void Read_only_features_are_read_and_refused_for_writing(string features)
    {
        using var img = Ext4TestImage.Create("ro-" + features.Replace(',', '-').Replace("^", "", StringComparison.Ordinal), 64, ["-t", "ext4", "-O", features]);
        var fs = img.FileSystem;
        Assert.AreEqual("UUID=1234 / ext4 defaults 0 1\n", Encoding.UTF8.GetString(fs.ReadData(fs.ReadInode(Resolve(fs, "/etc/fstab")))));
        var initrd = fs.ReadData(fs.ReadInode(Resolve(fs, "/boot/initrd.img")));
        CollectionAssert.AreEqual(File.ReadAllBytes(img.Temp["tree/boot/initrd.img"]), initrd);
        Assert.IsNotNull(fs.WriteRefusal);
        var e = Assert.ThrowsExactly<Azure.LinuxImage.Engine.Diagnostics.LinuxImageException>(() => fs.ReplaceContent(Resolve(fs, "/etc/fstab"), "x"u8));
        Assert.AreEqual("LIMG0312", e.Descriptor.Code);
        Assert.AreEqual(0, img.Overlay.GetChanges().Count);
    }

    [TestMethod]
    public void Writing_the_same_content_changes_nothing()
    {
        using var img = Ext4TestImage.Create("same", 16, ["-t", "ext4"]);
        var fs = img.FileSystem;
        uint fstab = Resolve(fs, "/etc/fstab");
        fs.ReplaceContent(fstab, fs.ReadData(fs.ReadInode(fstab)));
        Assert.AreEqual(0, img.Overlay.GetChanges().Count);
    }

    [TestMethod]
    [DynamicData(nameof(Variants))]
    public void A_file_that_grows_at_its_end_keeps_its_blocks_and_only_its_tail_is_written(string name, string[] options)
    {
        // What the initramfs patch does: the same bytes with more after them. Judged by e2fsck and
        // debugfs (contents); the first block staying in place shows the kept blocks were not moved.
        using var img = Ext4TestImage.Create("grow-" + name, 24, options);
        var fs = img.FileSystem;
        uint sshd = Resolve(fs, "/etc/ssh/sshd_config");
        var first = new byte[300_000];
        new Random(2).NextBytes(first);
        fs.ReplaceContent(sshd, first);
        var (runsBefore, _) = fs.MapFile(fs.ReadInode(sshd));

        var grown = new byte[first.Length + 50_001];
        first.CopyTo(grown, 0);
        new Random(3).NextBytes(grown.AsSpan(first.Length));
        grown[fs.BlockSize * 3] ^= 0xFF; // and one changed byte inside: that block is rewritten where it is
        fs.ReplaceContent(sshd, grown);

        var (runsAfter, _) = fs.MapFile(fs.ReadInode(sshd));
        Assert.AreEqual(runsBefore.OrderBy(r => r.Logical).First().Physical, runsAfter.OrderBy(r => r.Logical).First().Physical, "the first blocks stay where they were");
        string copy = img.AssertCleanAfterChanges();
        CollectionAssert.AreEqual(grown, Ext4TestImage.DebugfsCat(copy, "/etc/ssh/sshd_config"));

        // Shrinking to a prefix keeps the blocks too, and frees the rest.
        fs.ReplaceContent(sshd, grown.AsSpan(0, 123_457));
        CollectionAssert.AreEqual(grown[..123_457], Ext4TestImage.DebugfsCat(img.AssertCleanAfterChanges(), "/etc/ssh/sshd_config"));
    }

    [TestMethod]
    public void A_hashed_directory_with_thousands_of_entries_is_read_and_changed()
    {
        using var img = Ext4TestImage.Create("htree", 32, ["-t", "ext4"], root =>
        {
            Ext4TestImage.PopulateDefault(root);
            string many = Path.Combine(root, "many");
            Directory.CreateDirectory(many);
            for (int i = 0; i < 3000; i++)
            {
                File.WriteAllText(Path.Combine(many, $"entry-{i:D5}-with-a-longer-name"), i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        });
        // e2fsck -D builds the htree index the way the kernel would have.
        var r = ExternalTool.Run("e2fsck", ["-fyD", img.ImagePath]);
        Assert.IsTrue(r.ExitCode is 0 or 1, r.All);
        using var reopened = ReopenAfterExternalEdit(img);
        var fs = reopened.FileSystem;
        uint many = Resolve(fs, "/many");
        var dir = fs.ReadInode(many);
        Assert.AreNotEqual(0u, dir.Flags & Ext4Inode.FlagIndex, "fixture directory is not hashed");
        Assert.AreEqual(3002, fs.ReadDirectory(dir).Count);
        // Our index-node checksum agrees with the one e2fsck wrote.
        byte[] rootBlock = fs.ReadBlock(fs.MapFile(dir).Runs[0].Physical);
        int rootLimit = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(rootBlock.AsSpan(0x20));
        Assert.AreEqual(System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(rootBlock.AsSpan(0x20 + (rootLimit * 8) + 4)), Ext4HashTree.DxChecksum(fs, dir, rootBlock, 0x20));

        // Every name is in the leaf the index (and our hash) assigns to it.
        var (runs, _) = fs.MapFile(dir);
        foreach (var entry in fs.ReadDirectory(dir).Where(x => x.Name.StartsWith("entry-", StringComparison.Ordinal)))
        {
            ulong leaf = Ext4HashTree.FindLeaf(fs, dir, runs, Encoding.UTF8.GetBytes(entry.Name))!.Value;
            Assert.IsTrue(Encoding.UTF8.GetString(fs.ReadBlock(leaf)).Contains(entry.Name, StringComparison.Ordinal), $"{entry.Name} is not in leaf {leaf}");
            Assert.AreEqual(entry.Inode, fs.Lookup(dir, entry.Name));
        }
        uint e = fs.Lookup(dir, "entry-02999-with-a-longer-name");
        Assert.AreEqual("2999", Encoding.UTF8.GetString(fs.ReadData(fs.ReadInode(e))));

        // Deleting keeps the index; e2fsck checks it.
        fs.Delete(many, "entry-00010-with-a-longer-name");
        string afterDelete = reopened.AssertCleanAfterChanges();
        StringAssert.Contains(Ext4TestImage.Debugfs(afterDelete, "stat /many"), "Flags: 0x81000");

        // Adding places names in the leaf their hash belongs to: the index survives, and e2fsck checks every hash range.
        fs.CreateFile(many, "added", "new"u8, 0x1A4);
        fs.Rename(many, "entry-00020-with-a-longer-name", many, "renamed");
        string copy = reopened.AssertCleanAfterChanges();
        Assert.AreNotEqual(0u, fs.ReadInode(many).Flags & Ext4Inode.FlagIndex, "the index was dropped");
        CollectionAssert.AreEqual("new"u8.ToArray(), Ext4TestImage.DebugfsCat(copy, "/many/added"));
        CollectionAssert.AreEqual("20"u8.ToArray(), Ext4TestImage.DebugfsCat(copy, "/many/renamed"));

        // Filling leaves until they split: the index grows and stays valid.
        int leavesBefore = (int)(fs.ReadInode(many).Size / fs.BlockSize);
        for (int i = 0; i < 400; i++)
        {
            fs.CreateFile(many, $"more-{i:D4}-another-long-name-to-fill-leaves", [], 0x1A4);
        }
        Assert.AreNotEqual(0u, fs.ReadInode(many).Flags & Ext4Inode.FlagIndex, "the index was dropped");
        Assert.IsTrue(fs.ReadInode(many).Size / fs.BlockSize > leavesBefore, "no leaf was split");
        copy = reopened.AssertCleanAfterChanges();
        StringAssert.Contains(Ext4TestImage.Debugfs(copy, "ls /many"), "more-0399-another-long-name-to-fill-leaves");
        Assert.AreEqual(3402, fs.ReadDirectory(fs.ReadInode(many)).Count);
    }

    [TestMethod]
    [DataRow("metadata_csum")]
    [DataRow("^metadata_csum")]
    public void A_hashed_directory_whose_index_fills_up_becomes_linear_and_stays_clean(string csum)
    {
        using var img = Ext4TestImage.Create("htree-full", 24, ["-t", "ext4", "-b", "1024", "-O", csum], root =>
        {
            Ext4TestImage.PopulateDefault(root);
            Directory.CreateDirectory(Path.Combine(root, "dir"));
            for (int i = 0; i < 150; i++)
            {
                File.WriteAllText(Path.Combine(root, "dir", $"seed-{i:D4}-with-a-name-of-some-length"), "");
            }
        });
        var r = ExternalTool.Run("e2fsck", ["-fyD", img.ImagePath]);
        Assert.IsTrue(r.ExitCode is 0 or 1, r.All);
        using var reopened = Ext4TestImage.Reopen(img);
        var fs = reopened.FileSystem;
        uint dir = Resolve(fs, "/dir");
        Assert.AreNotEqual(0u, fs.ReadInode(dir).Flags & Ext4Inode.FlagIndex, "fixture directory is not hashed");
        int i = 0;
        while ((fs.ReadInode(dir).Flags & Ext4Inode.FlagIndex) != 0)
        {
            fs.CreateFile(dir, $"added-{i:D5}-with-a-name-of-some-length", [], 0x1A4);
            i++;
            Assert.IsTrue(i < 5000, "the index never filled up");
            if (i == 300)
            {
                // Midway, with many leaves split, e2fsck checks the grown index.
                reopened.AssertCleanAfterChanges();
            }
        }
        fs.CreateFile(dir, "after-linear", [], 0x1A4);
        string copy = reopened.AssertCleanAfterChanges();
        Assert.AreEqual(150 + i + 1 + 2, fs.ReadDirectory(fs.ReadInode(dir)).Count);
        StringAssert.Contains(Ext4TestImage.Debugfs(copy, "ls /dir"), "after-linear");
    }

    [TestMethod]
    public void Filling_a_directory_past_one_block_and_many_groups_stays_clean()
    {
        // 1 KiB blocks: 8 MiB groups, so a 48 MiB file system has uninitialised groups to allocate from.
        using var img = Ext4TestImage.Create("grow", 48, ["-t", "ext4", "-b", "1024"]);
        var fs = img.FileSystem;
        uint etc = Resolve(fs, "/etc");
        for (int i = 0; i < 200; i++)
        {
            fs.CreateFile(etc, $"file-{i:D3}-padding-padding-padding", Encoding.UTF8.GetBytes(new string('a', i * 13)), 0x1A4);
        }
        var big = new byte[30 * 1024 * 1024];
        new Random(3).NextBytes(big);
        fs.CreateFile(etc, "big", big, 0x1A4);
        string copy = img.AssertCleanAfterChanges();
        CollectionAssert.AreEqual(big, Ext4TestImage.DebugfsCat(copy, "/etc/big"));
        Assert.AreEqual(new string('a', 199 * 13), Encoding.UTF8.GetString(Ext4TestImage.DebugfsCat(copy, "/etc/file-199-padding-padding-padding")));
    }

    [TestMethod]
    [DataRow("-O", "metadata_csum")]
    [DataRow("-O", "^metadata_csum")]
    public void Inodes_spill_into_uninitialised_groups_and_stay_consistent(params string[] extra)
    {
        // Few inodes per group (and lazy inode tables) so that new files must initialise fresh groups.
        using var img = Ext4TestImage.Create("spill", 32, ["-t", "ext4", "-b", "1024", "-N", "256", "-E", "lazy_itable_init=1", .. extra]);
        var fs = img.FileSystem;
        uint etc = Resolve(fs, "/etc");
        var created = new List<uint>();
        for (int i = 0; i < 120; i++)
        {
            created.Add(fs.CreateFile(etc, $"f{i:D3}", Encoding.UTF8.GetBytes($"file {i}"), 0x1A4));
        }
        uint dir = fs.CreateDirectory(Ext4FileSystem.RootInode, "spilled", 0x1ED);
        for (int i = 0; i < 40; i++)
        {
            fs.CreateDirectory(dir, $"d{i:D2}", 0x1ED);
        }
        Assert.IsTrue(created.Max() > fs.Superblock.InodesPerGroup * 2, "allocation never left the first groups");
        string copy = img.AssertCleanAfterChanges();
        Assert.AreEqual("file 119", Encoding.UTF8.GetString(Ext4TestImage.DebugfsCat(copy, "/etc/f119")));
    }

    /// <summary>debugfs -w edited the image file itself: open it afresh so the engine sees those edits.</summary>
    private static Ext4TestImage ReopenAfterExternalEdit(Ext4TestImage img) => Ext4TestImage.Reopen(img);
}
