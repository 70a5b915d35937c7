using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.FileSystems.Btrfs;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// The btrfs reader against the kernel: images from mkfs.btrfs and from the kernel's own writes
/// (subvolumes, snapshots, compression), read by the engine and by a read-only loop mount, must
/// show the same paths, kinds, permissions, owners, sizes, contents, link targets and xattrs.
/// </summary>
[TestClass]
public sealed class BtrfsReadTests
{
    private static readonly string[] DefaultMkfs = [];

    [TestMethod]
    public void Mkfs_rootdir_image_reads_as_the_kernel_shows_it()
    {
        using var temp = new TempDir("btrfs-read");
        string image = BtrfsTestImage.Create(temp, 256, DefaultMkfs);
        BtrfsTestImage.AssertSameAsKernel(image, string.Empty, temp, minimumEntries: 400);
    }

    [TestMethod]
    [DataRow("xxhash")]
    [DataRow("sha256")]
    [DataRow("crc32c")]
    public void Every_served_checksum_is_verified_and_read(string csum)
    {
        using var temp = new TempDir("btrfs-csum");
        string image = BtrfsTestImage.Create(temp, 256, ["--csum", csum]);
        BtrfsTestImage.AssertSameAsKernel(image, string.Empty, temp, minimumEntries: 400);
    }

    [TestMethod]
    [DataRow("4096")]
    [DataRow("65536")]
    public void Node_sizes_from_4_KiB_to_64_KiB_read(string nodeSize)
    {
        using var temp = new TempDir("btrfs-nodesize");
        // 4 KiB nodes put 400 entries into a tree of several levels.
        string image = BtrfsTestImage.Create(temp, 256, ["--nodesize", nodeSize, "-m", "single"]);
        BtrfsTestImage.AssertSameAsKernel(image, string.Empty, temp, minimumEntries: 400);
    }

    [TestMethod]
    [DataRow("--mixed")]
    [DataRow("-m dup -d dup")]
    [DataRow("-m single -d single -O ^no-holes -R ^free-space-tree")]
    public void Other_mkfs_layouts_read(string options)
    {
        using var temp = new TempDir("btrfs-layout");
        string image = BtrfsTestImage.Create(temp, 256, options.Split(' '));
        BtrfsTestImage.AssertSameAsKernel(image, string.Empty, temp, minimumEntries: 400);
    }

    [TestMethod]
    public void Changed_fsid_with_metadata_uuid_reads_and_identifies_by_the_new_fsid()
    {
        using var temp = new TempDir("btrfs-metauuid");
        string image = BtrfsTestImage.Create(temp, 256, []);
        var fresh = Guid.Parse("5a1e0b7d-1c2e-4f3a-8b9c-0d1e2f3a4b5c");
        ExternalTool.RunChecked("btrfstune", "-f", "-M", fresh.ToString(), image);
        using (var volume = FileVolume.OpenRead(image))
        {
            Assert.AreEqual(fresh, BtrfsFileSystemType.Instance.Identify(volume).Uuid);
        }
        BtrfsTestImage.AssertSameAsKernel(image, string.Empty, temp, minimumEntries: 400);
    }

    [TestMethod]
    public void Blake2b_checksum_is_refused_clearly()
    {
        using var temp = new TempDir("btrfs-blake2");
        string image = BtrfsTestImage.Create(temp, 256, ["--csum", "blake2"], root => File.WriteAllText(Path.Combine(root, "a"), "a"));
        using var volume = FileVolume.OpenRead(image);
        var e = Assert.ThrowsExactly<LinuxImageException>(() => BtrfsFileSystem.Open(volume, image));
        Assert.AreEqual("LIMG0381", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "blake2b");
    }

    [TestMethod]
    [DataRow("zstd", "compression 3")]
    [DataRow("zlib", "compression 1")]
    public void Files_the_kernel_compressed_read_back(string algorithm, string dumpMarker)
    {
        using var temp = new TempDir("btrfs-compress");
        string image = BtrfsTestImage.Create(temp, 256, DefaultMkfs, root => File.WriteAllText(Path.Combine(root, "plain"), "plain\n"),
            mounted: m => WriteCompressible(m), mountOptions: "compress-force=" + algorithm);
        // The fixture really holds compressed extents, inline and regular.
        string dump = ExternalTool.RunChecked("btrfs", "inspect-internal", "dump-tree", "-t", "5", image).StdOut;
        StringAssert.Contains(dump, dumpMarker);
        StringAssert.Contains(dump, "inline extent data size");
        BtrfsTestImage.AssertSameAsKernel(image, string.Empty, temp, minimumEntries: 5);
    }

    [TestMethod]
    public void Lzo_compressed_file_is_refused_clearly_and_others_still_read()
    {
        using var temp = new TempDir("btrfs-lzo");
        string image = BtrfsTestImage.Create(temp, 256, DefaultMkfs, root => File.WriteAllText(Path.Combine(root, "plain"), "plain\n"),
            mounted: m => WriteCompressible(m), mountOptions: "compress-force=lzo");
        using var volume = FileVolume.OpenRead(image);
        var fs = BtrfsFileSystem.Open(volume, image);
        Assert.AreEqual("plain\n", System.Text.Encoding.UTF8.GetString(fs.ReadFile(fs.Lookup(fs.RootNode, "plain")!.Value)));
        ulong big = fs.Lookup(fs.RootNode, "big.txt")!.Value;
        var e = Assert.ThrowsExactly<LinuxImageException>(() => fs.ReadFile(big));
        Assert.AreEqual("LIMG0381", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "LZO");
    }

    internal static void WriteCompressible(string mount)
    {
        var text = string.Concat(Enumerable.Range(0, 40000).Select(i => $"line {i % 977} of a compressible file\n"));
        // File.WriteAllText preallocates (fallocate), and the kernel never compresses into preallocated extents.
        Write(Path.Combine(mount, "big.txt"), System.Text.Encoding.UTF8.GetBytes(text));
        Write(Path.Combine(mount, "small.txt"), System.Text.Encoding.UTF8.GetBytes(new string('z', 3000)));
        // Overwrite the middle of a compressed file: the extent is then referenced at an offset.
        using (var f = new FileStream(Path.Combine(mount, "patched.txt"), FileMode.Create))
        {
            f.Write(System.Text.Encoding.UTF8.GetBytes(text));
            f.Flush(flushToDisk: true);
        }
        ExternalTool.RunChecked("sync");
        using (var f = new FileStream(Path.Combine(mount, "patched.txt"), FileMode.Open))
        {
            f.Position = 200_000;
            f.Write(BtrfsTestImage.Filled(10_000, 9));
        }
        Directory.CreateDirectory(Path.Combine(mount, "dir"));
        Write(Path.Combine(mount, "dir", "random.bin"), BtrfsTestImage.Filled(200_000, 11));
    }

    private static void Write(string path, byte[] data)
    {
        using var f = new FileStream(path, FileMode.Create);
        f.Write(data);
    }

    /// <summary>openSUSE's layout as snapper and the installer make it, and what a snapshot of a tree with nested subvolumes shows.</summary>
    internal static string MakeSuseLayout(TempDir temp)
    {
        return BtrfsTestImage.Create(temp, 256, DefaultMkfs, root => File.WriteAllText(Path.Combine(root, "top-level-file"), "top\n"), mounted: m =>
        {
            BtrfsTestImage.Btrfs("subvolume", "create", Path.Combine(m, "@"));
            foreach (string sub in new[] { "home", "var", "opt", ".snapshots" })
            {
                BtrfsTestImage.Btrfs("subvolume", "create", Path.Combine(m, "@", sub));
            }
            File.WriteAllText(Path.Combine(m, "@", "home", "user.txt"), "home of the user\n");
            File.WriteAllText(Path.Combine(m, "@", "var", "log.txt"), "var log\n");
            Directory.CreateDirectory(Path.Combine(m, "@", ".snapshots", "1"));
            string snapshot = Path.Combine(m, "@", ".snapshots", "1", "snapshot");
            BtrfsTestImage.Btrfs("subvolume", "create", snapshot);
            BtrfsTestImage.PopulateDefault(snapshot);
            foreach (string mountPoint in new[] { "home", "var", "opt", ".snapshots" })
            {
                Directory.CreateDirectory(Path.Combine(snapshot, mountPoint));
            }
            // A read-only snapshot of the root (snapper's pre/post pairs), then a change in the live root.
            Directory.CreateDirectory(Path.Combine(m, "@", ".snapshots", "2"));
            BtrfsTestImage.Btrfs("subvolume", "snapshot", "-r", snapshot, Path.Combine(m, "@", ".snapshots", "2", "snapshot"));
            File.WriteAllText(Path.Combine(snapshot, "etc", "fstab"), "changed after the snapshot\n");
            // A snapshot of @ itself: its nested subvolumes become empty stand-in directories.
            Directory.CreateDirectory(Path.Combine(m, "@", ".snapshots", "3"));
            BtrfsTestImage.Btrfs("subvolume", "snapshot", Path.Combine(m, "@"), Path.Combine(m, "@", ".snapshots", "3", "snapshot"));
            BtrfsTestImage.Btrfs("subvolume", "set-default", snapshot);
        });
    }

    [TestMethod]
    public void Suse_layout_default_snapshot_and_fstab_subvolumes_read_as_the_kernel_mounts_them()
    {
        using var temp = new TempDir("btrfs-suse");
        string image = MakeSuseLayout(temp);
        // No options: the default subvolume (the snapshot snapper booted).
        BtrfsTestImage.AssertSameAsKernel(image, string.Empty, temp, minimumEntries: 400);
        foreach (string options in new[] { "subvol=@/home", "subvol=/@/var", "subvol=@/.snapshots/2/snapshot", "subvol=@/.snapshots/3/snapshot", "subvol=@", "subvolid=5", "subvolid=0" })
        {
            BtrfsTestImage.AssertSameAsKernel(image, options, temp);
        }

        using var volume = FileVolume.OpenRead(image);
        var root = BtrfsFileSystem.Open(volume, image, "defaults,noatime");
        var live = BtrfsFileSystem.Open(volume, image, "subvol=@/.snapshots/1/snapshot");
        Assert.AreEqual(live.SubvolumeId, root.SubvolumeId, "the default subvolume is snapshot 1");
        var byId = BtrfsFileSystem.Open(volume, image, $"subvolid={live.SubvolumeId},subvol=/@/.snapshots/1/snapshot");
        Assert.AreEqual(live.SubvolumeId, byId.SubvolumeId);
        // Every subvolume 'btrfs subvolume list' knows, for root discovery by subvolid=.
        CollectionAssert.AreEqual(
            new ulong[] { 5 }.Concat(BtrfsTestImage.SubvolumeIdsOf(image, temp)).ToList(),
            root.SubvolumeIds().ToList());
        var etc = root.Lookup(root.RootNode, "etc")!.Value;
        Assert.AreEqual("changed after the snapshot\n", System.Text.Encoding.UTF8.GetString(root.ReadFile(root.Lookup(etc, "fstab")!.Value)));
        var selinux = root.ReadXattrs(root.Lookup(etc, "fstab.hard")!.Value);
        Assert.AreEqual("system_u:object_r:etc_t:s0\0", System.Text.Encoding.UTF8.GetString(selinux["security.selinux"]));
        Assert.AreEqual(etc, root.Lookup(root.Lookup(etc, "ssh")!.Value, ".."));
    }

    [TestMethod]
    public void Subvolume_options_the_kernel_refuses_are_refused_with_LIMG0383()
    {
        using var temp = new TempDir("btrfs-subvol-bad");
        string image = MakeSuseLayout(temp);
        using var volume = FileVolume.OpenRead(image);
        foreach (string options in new[] { "subvol=@/nothing", "subvol=@/.snapshots/1", "subvol=top-level-file", "subvolid=9999", "subvolid=abc", "subvol=@/home,subvolid=5" })
        {
            var e = Assert.ThrowsExactly<LinuxImageException>(() => BtrfsFileSystem.Open(volume, image, options), options);
            Assert.AreEqual("LIMG0383", e.Descriptor.Code, options);
            var kernel = ExternalTool.Run("mount", ["-t", "btrfs", "-o", "ro,loop," + options, image, temp.Path]);
            Assert.AreNotEqual(0, kernel.ExitCode, $"the kernel mounted {options}");
        }
    }

    [TestMethod]
    public void Fedora_layout_root_and_home_subvolumes_read_as_the_kernel_mounts_them()
    {
        using var temp = new TempDir("btrfs-fedora");
        string image = BtrfsTestImage.Create(temp, 256, DefaultMkfs, root => { }, mounted: m =>
        {
            BtrfsTestImage.Btrfs("subvolume", "create", Path.Combine(m, "root"));
            BtrfsTestImage.Btrfs("subvolume", "create", Path.Combine(m, "home"));
            BtrfsTestImage.PopulateDefault(Path.Combine(m, "root"));
            Directory.CreateDirectory(Path.Combine(m, "root", "home"));
            File.WriteAllText(Path.Combine(m, "home", "fedora.txt"), "fedora home\n");
        });
        BtrfsTestImage.AssertSameAsKernel(image, "subvol=root", temp, minimumEntries: 400);
        BtrfsTestImage.AssertSameAsKernel(image, "subvol=home", temp);
        BtrfsTestImage.AssertSameAsKernel(image, string.Empty, temp, minimumEntries: 400);
    }

    [TestMethod]
    public void Probe_and_identify_give_the_fsid_and_label_mkfs_wrote()
    {
        using var temp = new TempDir("btrfs-identify");
        var uuid = Guid.Parse("0b0e5c51-7a3c-4f1e-9d2b-5e6f708192a3");
        string image = BtrfsTestImage.Create(temp, 256, ["-U", uuid.ToString(), "-L", "suse-root"], root => { });
        using var volume = FileVolume.OpenRead(image);
        IFileSystemType type = BtrfsFileSystemType.Instance;
        Assert.IsTrue(type.Probe(volume));
        Assert.AreEqual((uuid, "suse-root"), type.Identify(volume));
        var fs = type.Open(volume, image, string.Empty);
        Assert.AreEqual("btrfs", fs.TypeName);
        Assert.IsGreaterThan(0L, fs.Space.FreeBytes);
        Assert.IsLessThan(fs.Space.TotalBytes, fs.Space.FreeBytes);

        string ext4 = temp["ext4.img"];
        using (var f = new FileStream(ext4, FileMode.CreateNew))
        {
            f.SetLength(16 << 20);
        }
        ExternalTool.RunChecked("mke2fs", "-q", "-F", ext4);
        using var other = FileVolume.OpenRead(ext4);
        Assert.IsFalse(type.Probe(other));
    }
}
