using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.FileSystems.Btrfs;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// btrfs writes, copy-on-write: after each change the overlay's bytes go into a copy of the image,
/// and 'btrfs check --readonly --check-data-csum' must find nothing, the kernel (read-only loop
/// mount) must show exactly what the engine meant to write, and the engine must read it back.
/// </summary>
[TestClass]
public sealed class BtrfsWriteTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [TestMethod]
    [DataRow("")]
    [DataRow("--csum xxhash")]
    [DataRow("--csum sha256 --nodesize 4096 -m single")]
    [DataRow("--nodesize 65536")]
    [DataRow("-m dup -d dup")]
    [DataRow("-O ^no-holes -R ^free-space-tree")]
    public void Contents_replaced_grown_shrunk_and_emptied_pass_btrfs_check_and_read_back_through_the_kernel(string mkfs)
    {
        using var temp = new TempDir("btrfs-replace");
        string image = BtrfsTestImage.Create(temp, 256, mkfs.Length == 0 ? [] : mkfs.Split(' '));
        using var volume = FileVolume.OpenRead(image);
        var overlay = new DiskOverlay(volume);
        var fs = OpenForWrite(overlay, image);
        Assert.IsNull(fs.WriteRefusal);
        var fstab = "UUID=abcd / btrfs defaults 0 0\n"u8.ToArray();
        var grown = BtrfsTestImage.Filled(700_000, 11);
        var regularToInline = "small now\n"u8.ToArray();
        var inlineToRegular = BtrfsTestImage.Filled(9000, 12);
        fs.ReplaceContent(Resolve(fs, "/etc/fstab"), fstab);                       // inline → inline, xattrs kept
        fs.ReplaceContent(Resolve(fs, "/boot/initrd"), grown);                     // regular grows
        fs.ReplaceContent(Resolve(fs, "/etc/regular-5000"), regularToInline);      // regular → inline
        fs.ReplaceContent(Resolve(fs, "/etc/inline-2048"), inlineToRegular);       // inline → regular
        fs.ReplaceContent(Resolve(fs, "/etc/os-release"), []);                     // emptied
        fs.ReplaceContent(Resolve(fs, "/var/sparse"), "no longer sparse\n"u8);    // holes go
        fs.SetMode(Resolve(fs, "/etc/ssh/sshd_config"), 0x1A4);
        var expected = new Dictionary<string, byte[]>
        {
            ["/etc/fstab"] = fstab,
            ["/boot/initrd"] = grown,
            ["/etc/regular-5000"] = regularToInline,
            ["/etc/inline-2048"] = inlineToRegular,
            ["/etc/os-release"] = [],
            ["/var/sparse"] = "no longer sparse\n"u8.ToArray(),
        };
        foreach (var (path, content) in expected)
        {
            CollectionAssert.AreEqual(content, fs.ReadFile(Resolve(fs, path)), path);
        }

        string written = OverlayCopy.Write(overlay, image, temp);
        Check(written);
        var kernel = BtrfsTestImage.KernelView(written, string.Empty, temp);
        foreach (var (path, content) in expected)
        {
            Assert.AreEqual(BtrfsTestImage.Digest(content), kernel[path].Content, path);
        }
        Assert.AreEqual(0x1A4, kernel["/etc/ssh/sshd_config"].Permissions);
        StringAssert.Contains(kernel["/etc/fstab"].Xattrs, "security.selinux=");
        BtrfsTestImage.AssertSameAsKernel(written, string.Empty, temp, minimumEntries: 400);
    }

    /// <summary>
    /// A v1 space cache the kernel wrote (SLES 15's default: one cache inode per block group,
    /// cache_generation equal to the generation): after the engine's write btrfs check must not load
    /// the now stale caches and find them wrong, and the kernel must rebuild them on its next
    /// read-write mount, after which btrfs check validates the new caches.
    /// </summary>
    [TestMethod]
    public void A_v1_space_cache_the_kernel_wrote_is_invalidated_for_the_kernel_to_rebuild()
    {
        using var temp = new TempDir("btrfs-v1-cache");
        // The kernel caches only block groups of 100 MiB or more: 2 GiB makes its new data chunk that large.
        string image = BtrfsTestImage.Create(temp, 2048, ["-O", "^no-holes", "-R", "^free-space-tree"],
            mounted: mnt => File.WriteAllBytes(mnt + "/etc/kernel-written", BtrfsTestImage.Filled(40 << 20, 5)), mountOptions: "space_cache=v1");
        var (generation, cacheGeneration) = Generations(image);
        Assert.AreEqual(generation, cacheGeneration, "the kernel wrote the v1 cache");
        Assert.Contains("FREE_SPACE", ExternalTool.RunChecked("btrfs", "inspect-internal", "dump-tree", "-t", "root", image).StdOut, "cache items exist");

        using var volume = FileVolume.OpenRead(image);
        var overlay = new DiskOverlay(volume);
        var fs = OpenForWrite(overlay, image);
        // Allocated from the kernel's cached data block group: its cache now shows more free space than there is.
        var grown = BtrfsTestImage.Filled(30 << 20, 6);
        fs.ReplaceContent(Resolve(fs, "/boot/initrd"), grown);
        string written = OverlayCopy.Write(overlay, image, temp);
        Check(written);
        var (after, cacheAfter) = Generations(written);
        Assert.IsTrue(after > generation, $"a new generation ({after} after {generation})");
        Assert.AreNotEqual(after, cacheAfter, "the cache generation no longer matches: the kernel drops the caches");

        BtrfsTestImage.WithMount(written, "loop,space_cache=v1", temp, mnt => File.WriteAllText(mnt + "/etc/after-mount", "rebuilt\n"));
        Check(written);
        var (rebuilt, cacheRebuilt) = Generations(written);
        Assert.AreEqual(rebuilt, cacheRebuilt, "the kernel rebuilt the caches");
        Assert.AreEqual(BtrfsTestImage.Digest(grown), BtrfsTestImage.KernelView(written, string.Empty, temp)["/boot/initrd"].Content);
    }

    private static (ulong Generation, ulong CacheGeneration) Generations(string image)
    {
        var lines = ExternalTool.RunChecked("btrfs", "inspect-internal", "dump-super", image).StdOut.Split('\n');
        ulong Field(string name) => ulong.Parse(lines.Single(l => l.StartsWith(name + "\t", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        return (Field("generation"), Field("cache_generation"));
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("--nodesize 4096 -m single --csum xxhash")]
    public void Files_directories_and_links_created_deleted_and_renamed_pass_btrfs_check_and_read_back_through_the_kernel(string mkfs)
    {
        using var temp = new TempDir("btrfs-names");
        string image = BtrfsTestImage.Create(temp, 256, mkfs.Length == 0 ? [] : mkfs.Split(' '));
        using var volume = FileVolume.OpenRead(image);
        var overlay = new DiskOverlay(volume);
        var fs = OpenForWrite(overlay, image);
        var model = new BtrfsModel(BtrfsTestImage.EngineView(fs));
        ulong etc = Resolve(fs, "/etc");
        ulong many = Resolve(fs, "/usr/share/many");

        model.CreateFile(fs, etc, "/etc", "waagent.conf", Encoding.UTF8.GetBytes("Provisioning.Agent=auto\n"), 0x1A4, 0, 0);
        model.CreateFile(fs, etc, "/etc", "big.bin", BtrfsTestImage.Filled(123_457, 21), 0x180, 1000, 100);
        model.CreateFile(fs, etc, "/etc", "empty.conf", [], 0x1A4, 0, 0);
        ulong dir = model.CreateDirectory(fs, etc, "/etc", "cloud", 0x1ED, 0, 0);
        model.CreateFile(fs, dir, "/etc/cloud", "cloud.cfg", Encoding.UTF8.GetBytes("datasource_list: [ Azure ]\n"), 0x1A4, 0, 0);
        model.CreateSymlink(fs, etc, "/etc", "resolv.conf", "/run/systemd/resolve/stub-resolv.conf");
        model.CreateSymlink(fs, etc, "/etc", "long-link", "/" + new string('t', 3000));
        for (int i = 0; i < 150; i++)
        {
            // Enough names in one directory to split leaves (and, with 4 KiB nodes, nodes).
            model.CreateFile(fs, many, "/usr/share/many", $"added-{i:D3}-{new string('a', i % 60)}", Encoding.UTF8.GetBytes($"added {i}\n"), 0x1A4, 0, 0);
        }
        for (int i = 0; i < 300; i += 2)
        {
            model.Delete(fs, many, "/usr/share/many", $"file-{i:D4}-{new string('n', i % 50)}");
        }
        model.Delete(fs, Resolve(fs, "/boot"), "/boot", "initrd");
        model.Delete(fs, Resolve(fs, "/var/lib"), "/var/lib", "empty");
        model.Delete(fs, etc, "/etc", "fstab.hard");
        model.Rename(fs, etc, "/etc", "waagent.conf", dir, "/etc/cloud", "waagent.conf");
        model.Rename(fs, etc, "/etc", "os-release", etc, "/etc", "localtime");       // replaces a symbolic link
        model.Rename(fs, Resolve(fs, "/boot"), "/boot", "grub2", etc, "/etc", "grub2-moved");
        model.SetMode(fs, "/etc/cloud/cloud.cfg", 0x180);

        model.AssertEngine(fs);
        string written = OverlayCopy.Write(overlay, image, temp);
        Check(written);
        model.AssertKernel(written, temp);
        BtrfsTestImage.AssertSameAsKernel(written, string.Empty, temp, minimumEntries: 300);
    }

    [TestMethod]
    [DataRow(20261202, "--nodesize 4096 -m single")]
    [DataRow(7, "")]
    [DataRow(4242, "-O ^no-holes -R ^free-space-tree --nodesize 4096")]
    public void Random_operation_sequences_match_a_model_through_btrfs_check_and_the_kernel(int seed, string mkfs)
    {
        Console.WriteLine($"seed {seed}, mkfs.btrfs {mkfs}");
        using var temp = new TempDir("btrfs-model");
        string image = BtrfsTestImage.Create(temp, 256, mkfs.Length == 0 ? [] : mkfs.Split(' '), root =>
        {
            Directory.CreateDirectory(Path.Combine(root, "a", "b"));
            File.WriteAllText(Path.Combine(root, "a", "one"), "one\n");
            File.WriteAllBytes(Path.Combine(root, "a", "b", "two"), BtrfsTestImage.Filled(50_000, 2));
        });
        using var volume = FileVolume.OpenRead(image);
        var overlay = new DiskOverlay(volume);
        var fs = OpenForWrite(overlay, image);
        var model = new BtrfsModel(BtrfsTestImage.EngineView(fs));
        var random = new Random(seed);
        for (int step = 0; step < 250; step++)
        {
            model.RandomStep(fs, random, step);
        }
        model.AssertEngine(fs);
        Console.WriteLine($"{model.Count} paths after 250 steps");
        string written = OverlayCopy.Write(overlay, image, temp);
        Check(written);
        model.AssertKernel(written, temp);
        BtrfsTestImage.AssertSameAsKernel(written, string.Empty, temp);
    }

    [TestMethod]
    [DataRow(1202, "--nodesize 4096 -m single")]
    [DataRow(31, "")]
    public void Random_operations_on_a_subvolume_and_its_writable_snapshot_in_turn_match_their_models(int seed, string mkfs)
    {
        Console.WriteLine($"seed {seed}, mkfs.btrfs {mkfs}");
        using var temp = new TempDir("btrfs-model-snapshot");
        string image = BtrfsTestImage.Create(temp, 256, mkfs.Length == 0 ? [] : mkfs.Split(' '), root => File.WriteAllText(Path.Combine(root, "top"), "top\n"), mounted: m =>
        {
            BtrfsTestImage.Btrfs("subvolume", "create", Path.Combine(m, "a"));
            Directory.CreateDirectory(Path.Combine(m, "a", "d"));
            for (int i = 0; i < 300; i++)
            {
                File.WriteAllBytes(Path.Combine(m, "a", i % 2 == 0 ? "d" : string.Empty, $"f{i:D3}"), BtrfsTestImage.Filled(i % 3 == 0 ? 6000 + i : 100 + i, i));
            }
            BtrfsTestImage.Btrfs("subvolume", "snapshot", Path.Combine(m, "a"), Path.Combine(m, "b"));
        });
        using var volume = FileVolume.OpenRead(image);
        var overlay = new DiskOverlay(volume);
        // Two instances on one volume, as two mounts: each must follow the other's commits.
        var a = OpenForWrite(overlay, image, "subvol=a");
        var b = OpenForWrite(overlay, image, "subvol=b");
        var modelA = new BtrfsModel(BtrfsTestImage.EngineView(a));
        var modelB = new BtrfsModel(BtrfsTestImage.EngineView(b));
        var random = new Random(seed);
        for (int step = 0; step < 200; step++)
        {
            if (random.Next(2) == 0)
            {
                modelA.RandomStep(a, random, step);
            }
            else
            {
                modelB.RandomStep(b, random, step);
            }
        }
        modelA.AssertEngine(a);
        modelB.AssertEngine(b);
        string written = OverlayCopy.Write(overlay, image, temp);
        Check(written);
        var kernelA = BtrfsTestImage.KernelView(written, "subvol=a", temp);
        modelA.AssertKernel(written, temp, "subvol=a");
        modelB.AssertKernel(written, temp, "subvol=b");
        Assert.IsNotEmpty(kernelA);
    }

    [TestMethod]
    public void Data_beyond_the_free_space_of_the_block_groups_is_refused_with_nothing_written()
    {
        using var temp = new TempDir("btrfs-write-full");
        string image = BtrfsTestImage.Create(temp, 256, []);
        using var volume = FileVolume.OpenRead(image);
        var overlay = new DiskOverlay(volume);
        var fs = OpenForWrite(overlay, image);
        // More than the whole device: new chunks until none fits, then refused (BtrfsChunkAllocationTests has the rest).
        var e = Assert.ThrowsExactly<LinuxImageException>(() => fs.ReplaceContent(Resolve(fs, "/boot/initrd"), new byte[300 << 20]));
        Assert.AreEqual("LIMG0386", e.Descriptor.Code, e.Message);
        Assert.IsTrue(overlay.IsEmpty, "the refused change left bytes behind");
        // The same file system still takes what fits.
        fs.ReplaceContent(Resolve(fs, "/boot/initrd"), BtrfsTestImage.Filled(1 << 20, 5));
        Check(OverlayCopy.Write(overlay, image, temp));
    }

    [TestMethod]
    public void Compressed_files_are_rewritten_uncompressed_and_their_compressed_extents_released()
    {
        using var temp = new TempDir("btrfs-write-compressed");
        string image = BtrfsTestImage.Create(temp, 256, [], root => File.WriteAllText(Path.Combine(root, "plain"), "plain\n"),
            mounted: BtrfsReadTests.WriteCompressible, mountOptions: "compress-force=zstd");
        using var volume = FileVolume.OpenRead(image);
        var overlay = new DiskOverlay(volume);
        var fs = OpenForWrite(overlay, image);
        var model = new BtrfsModel(BtrfsTestImage.EngineView(fs));
        model.Replace(fs, "/big.txt", BtrfsTestImage.Filled(70_000, 31));
        model.Replace(fs, "/patched.txt", "a compressed extent referenced twice, now gone\n"u8.ToArray());
        model.Replace(fs, "/small.txt", BtrfsTestImage.Filled(3000, 32));
        model.CreateFile(fs, fs.RootNode, string.Empty, "new.txt", BtrfsTestImage.Filled(20_000, 33), 0x1A4, 0, 0);
        model.Delete(fs, Resolve(fs, "/dir"), "/dir", "random.bin");
        model.AssertEngine(fs);
        string written = OverlayCopy.Write(overlay, image, temp);
        Check(written);
        model.AssertKernel(written, temp);
        string dump = ExternalTool.RunChecked("btrfs", "inspect-internal", "dump-tree", "-t", "5", written).StdOut;
        // Only what the engine did not touch stays compressed: nothing here.
        Assert.DoesNotContain("compression 3", dump);
    }

    [TestMethod]
    public void Suse_layout_booted_snapshot_and_subvolumes_are_written_and_snappers_snapshot_stays_as_it_was()
    {
        using var temp = new TempDir("btrfs-write-suse");
        string image = BtrfsReadTests.MakeSuseLayout(temp);
        using var volume = FileVolume.OpenRead(image);
        var overlay = new DiskOverlay(volume);

        // @/home is nobody's snapshot: written.
        var home = BtrfsFileSystem.Open(overlay, image, "subvol=@/home");
        home.Clock = () => Now;
        var homeModel = new BtrfsModel(BtrfsTestImage.EngineView(home));
        homeModel.Replace(home, "/user.txt", "rewritten home\n"u8.ToArray());
        homeModel.CreateDirectory(home, home.RootNode, string.Empty, "azureuser", 0x1C0, 1000, 1000);
        homeModel.CreateFile(home, Resolve(home, "/azureuser"), "/azureuser", ".bashrc", BtrfsTestImage.Filled(5000, 41), 0x1A4, 1000, 1000);

        // The booted root (snapshot 1) shares blocks with snapper's read-only snapshot 2: copied with
        // the kernel's reference updates, the snapshot left as it was. The read-only snapshot itself is refused.
        var snapshotBefore = BtrfsTestImage.KernelView(image, "subvol=@/.snapshots/2/snapshot", temp);
        var root = BtrfsFileSystem.Open(overlay, image);
        root.Clock = () => Now;
        var rootModel = new BtrfsModel(BtrfsTestImage.EngineView(root));
        rootModel.Replace(root, "/etc/fstab", "UUID=1234 / btrfs defaults 0 0\n"u8.ToArray());
        rootModel.HardLink("/etc/fstab.hard", "/etc/fstab");
        foreach (string path in new[] { "/boot/initrd", "/usr/share/many/file-0000-", "/var/sparse", "/boot/grub2/grub.cfg" })
        {
            rootModel.Replace(root, path, Encoding.UTF8.GetBytes("rewritten " + path + "\n"));
        }
        rootModel.CreateFile(root, Resolve(root, "/etc"), "/etc", "waagent.conf", BtrfsTestImage.Filled(6000, 42), 0x1A4, 0, 0);
        rootModel.Delete(root, Resolve(root, "/usr/share/many"), "/usr/share/many", "file-0399-" + new string('n', 399 % 50));
        rootModel.Delete(root, Resolve(root, "/etc"), "/etc", "regular-5000");
        rootModel.SetMode(root, "/etc/ssh/sshd_config", 0x1A4);
        var snapshot = BtrfsFileSystem.Open(overlay, image, "subvol=@/.snapshots/2/snapshot");
        int changes = overlay.GetChanges().Count;
        var e = Assert.ThrowsExactly<LinuxImageException>(() => snapshot.ReplaceContent(Resolve(snapshot, "/etc/fstab"), "x\n"u8));
        Assert.AreEqual("LIMG0384", e.Descriptor.Code, e.Message);
        Assert.AreEqual(changes, overlay.GetChanges().Count, "the refused change left bytes behind");

        string written = OverlayCopy.Write(overlay, image, temp);
        Check(written);
        var kernel = BtrfsTestImage.KernelView(written, "subvol=@/home", temp);
        Assert.AreEqual(BtrfsTestImage.Digest("rewritten home\n"u8.ToArray()), kernel["/user.txt"].Content);
        Assert.AreEqual(1000, kernel["/azureuser/.bashrc"].Uid);
        BtrfsTestImage.AssertSameAsKernel(written, "subvol=@/home", temp);
        BtrfsTestImage.AssertSameAsKernel(written, string.Empty, temp, minimumEntries: 400);
        rootModel.AssertKernel(written, temp);
        // The copies really were of shared blocks: more of them now carry FULL_BACKREF for the snapshot.
        Assert.IsGreaterThan(FullBackrefs(image), FullBackrefs(written));
        var snapshotAfter = BtrfsTestImage.KernelView(written, "subvol=@/.snapshots/2/snapshot", temp);
        CollectionAssert.AreEqual(snapshotBefore.ToList(), snapshotAfter.ToList(), "the snapshot is as it was");
    }

    /// <summary>The file system on an overlay of the image, its clock fixed.</summary>
    private static BtrfsFileSystem OpenForWrite(DiskOverlay overlay, string image, string options = "")
    {
        var fs = BtrfsFileSystem.Open(overlay, image, options);
        fs.Clock = () => Now;
        return fs;
    }

    private static int FullBackrefs(string image) =>
        ExternalTool.RunChecked("btrfs", "inspect-internal", "dump-tree", "-t", "extent", image).StdOut.Split('\n').Count(l => l.Contains("FULL_BACKREF", StringComparison.Ordinal));

    /// <summary>btrfs check --readonly, with data checksums verified: exit code 0 and no error line.</summary>
    public static void Check(string image)
    {
        var r = ExternalTool.Run("btrfs", ["check", "--readonly", "--check-data-csum", image]);
        Console.WriteLine(r.All);
        Assert.AreEqual(0, r.ExitCode, r.All);
        StringAssert.Contains(r.All, "no error found");
        var complaints = r.All.Split('\n').Where(l => (l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.Contains("mismatch", StringComparison.Ordinal) || l.Contains("wanted", StringComparison.Ordinal))
            && !l.Contains("no error found", StringComparison.Ordinal)).ToList();
        Assert.IsEmpty(complaints, r.All);
        // Every superblock copy the device holds: same generation, checksum matching.
        string supers = ExternalTool.RunChecked("btrfs", "inspect-internal", "dump-super", "-a", image).StdOut;
        Assert.DoesNotContain("DON'T MATCH", supers, supers);
        var generations = supers.Split('\n').Where(l => l.StartsWith("generation\t", StringComparison.Ordinal)).Distinct().ToList();
        Assert.HasCount(1, generations, supers);
        Assert.IsGreaterThanOrEqualTo(2, supers.Split('\n').Count(l => l.StartsWith("superblock: bytenr=", StringComparison.Ordinal)), supers);
    }

    public static ulong Resolve(IFileSystem fs, string path)
    {
        ulong node = fs.RootNode;
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            node = fs.Lookup(node, part) ?? throw new FileNotFoundException(path);
        }
        return node;
    }
}
