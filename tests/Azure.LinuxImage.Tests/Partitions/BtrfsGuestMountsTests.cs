using System.Text;
using Azure.LinuxImage.Engine.Disks.Raw;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.FileSystems;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Partitions;

/// <summary>
/// An openSUSE-style disk (GPT, one btrfs partition: `@`, snapper's snapshot 1 as the default
/// subvolume, a read-only snapshot 2 sharing its blocks) found, read and patched through
/// GuestMounts as the patch step does, then judged by btrfs check and the kernel.
/// </summary>
[TestClass]
public sealed class BtrfsGuestMountsTests
{
    [TestMethod]
    public void Suse_btrfs_root_is_found_and_patched_through_the_guest_mounts()
    {
        using var temp = new TempDir("guest-btrfs");
        string fs = BtrfsReadTests.MakeSuseLayout(temp);
        string disk = temp["disk.img"];
        var layout = TestDisks.Partition(disk, 300, "label: gpt\nstart=2048, size=256MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n");
        TestDisks.Place(disk, fs, layout[1].Offset);
        var snapshotBefore = BtrfsTestImage.KernelView(fs, "subvol=@/.snapshots/2/snapshot", temp);

        using var image = new RawDiskImage(SourceFile.Open(disk));
        var overlay = new DiskOverlay(image);
        var guest = GuestMounts.Open(overlay, disk);
        Assert.AreEqual("btrfs", guest.Root.FstabType);
        StringAssert.Contains(Encoding.UTF8.GetString(guest.ReadFile("/etc/os-release")), "opensuse");

        var grubDefault = "GRUB_CMDLINE_LINUX_DEFAULT=\"console=ttyS0,115200n8 earlyprintk=ttyS0 rootdelay=300\"\n"u8.ToArray();
        var grubCfg = "linux /vmlinuz root=UUID=1234 console=ttyS0,115200n8 earlyprintk=ttyS0 rootdelay=300\n"u8.ToArray();
        var waagent = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("Provisioning.Agent=auto\n", 300)));
        guest.CreateDirectory("/etc/default");
        guest.WriteFile("/etc/default/grub", grubDefault);
        guest.WriteFile("/boot/grub2/grub.cfg", grubCfg);
        guest.WriteFile("/etc/waagent.conf", waagent, 0x1A4);
        guest.CreateSymlink("/etc/localtime.new", "/usr/share/zoneinfo/UTC");
        guest.Rename("/etc/localtime.new", "/etc/localtime");
        guest.Delete("/etc/inline-2048");

        var reopened = GuestMounts.Open(overlay, disk);
        CollectionAssert.AreEqual(grubCfg, reopened.ReadFile("/boot/grub2/grub.cfg"));
        string extracted = TestDisks.Extract(temp, reopened.Root.Volume.Volume, "root.out");
        BtrfsWriteTests.Check(extracted);
        var kernel = BtrfsTestImage.KernelView(extracted, string.Empty, temp);
        Assert.AreEqual(BtrfsTestImage.Digest(grubDefault), kernel["/etc/default/grub"].Content);
        Assert.AreEqual(BtrfsTestImage.Digest(grubCfg), kernel["/boot/grub2/grub.cfg"].Content);
        Assert.AreEqual(BtrfsTestImage.Digest(waagent), kernel["/etc/waagent.conf"].Content);
        Assert.AreEqual("/usr/share/zoneinfo/UTC", kernel["/etc/localtime"].Content);
        Assert.IsFalse(kernel.ContainsKey("/etc/inline-2048"));
        CollectionAssert.AreEqual(snapshotBefore.ToList(), BtrfsTestImage.KernelView(extracted, "subvol=@/.snapshots/2/snapshot", temp).ToList(), "snapper's snapshot is as it was");
    }

    /// <summary>
    /// Fedora's layout: the top level is the default subvolume, the root is the subvolume `root`
    /// (the kernel command line says rootflags=subvol=root) and /home is the subvolume `home` on the
    /// same volume. The root is found by looking in each subvolume; /home is mounted from fstab and
    /// written through its own instance, both instances committing to one file system.
    /// </summary>
    [TestMethod]
    public void Fedora_root_subvolume_is_found_and_its_home_subvolume_mounted_from_fstab()
    {
        using var temp = new TempDir("guest-btrfs-fedora");
        const string Fsid = "5d0c8a47-2b7e-4c61-9f0e-3a1b2c3d4e5f";
        string fs = BtrfsTestImage.Create(temp, 256, ["-U", Fsid], root => { }, mounted: m =>
        {
            BtrfsTestImage.Btrfs("subvolume", "create", Path.Combine(m, "root"));
            BtrfsTestImage.Btrfs("subvolume", "create", Path.Combine(m, "home"));
            BtrfsTestImage.PopulateDefault(Path.Combine(m, "root"));
            Directory.CreateDirectory(Path.Combine(m, "root", "home"));
            File.WriteAllText(Path.Combine(m, "root", "etc", "os-release"), "ID=fedora\nVERSION_ID=41\n");
            File.WriteAllText(Path.Combine(m, "root", "etc", "fstab"),
                $"UUID={Fsid} / btrfs subvol=root,compress=zstd:1 0 0\nUUID={Fsid} /home btrfs subvol=home,compress=zstd:1 0 0\n");
            Directory.CreateDirectory(Path.Combine(m, "home", "fedora"));
            File.WriteAllText(Path.Combine(m, "home", "fedora", ".bash_history"), "sudo dnf update\n");
        });
        string disk = temp["disk.img"];
        var layout = TestDisks.Partition(disk, 300, "label: gpt\nstart=2048, size=256MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n");
        TestDisks.Place(disk, fs, layout[1].Offset);

        using var image = new RawDiskImage(SourceFile.Open(disk));
        var overlay = new DiskOverlay(image);
        var guest = GuestMounts.Open(overlay, disk);
        StringAssert.Contains(Encoding.UTF8.GetString(guest.ReadFile("/etc/os-release")), "fedora");
        CollectionAssert.AreEqual(new[] { "/", "/home" }, guest.Mounts.Select(m => m.MountPoint).ToArray());
        Assert.AreEqual("sudo dnf update\n", Encoding.UTF8.GetString(guest.ReadFile("/home/fedora/.bash_history")));
        guest.Delete("/home/fedora/.bash_history");
        guest.WriteFile("/etc/hostname", "fedora-azure\n"u8, 0x1A4);

        string extracted = TestDisks.Extract(temp, guest.Root.Volume.Volume, "root.out");
        BtrfsWriteTests.Check(extracted);
        Assert.IsFalse(BtrfsTestImage.KernelView(extracted, "subvol=home", temp).ContainsKey("/fedora/.bash_history"));
        Assert.AreEqual(BtrfsTestImage.Digest("fedora-azure\n"u8.ToArray()), BtrfsTestImage.KernelView(extracted, "subvol=root", temp)["/etc/hostname"].Content);
    }
}
