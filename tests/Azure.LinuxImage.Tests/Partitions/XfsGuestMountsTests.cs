using System.Diagnostics;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks.Raw;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.FileSystems;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Partitions;

/// <summary>A RHEL-style disk: XFS /boot on partition 1 and an XFS root on partition 2, assembled from the guest's fstab.</summary>
[TestClass]
public sealed class XfsGuestMountsTests
{
    private const string RootUuid = "0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9";
    private const string BootUuid = "9f8e7d6c-5b4a-4938-8271-605f4e3d2c1b";

    public TestContext TestContext { get; set; } = null!;

    private static string BuildDisk(TempDir temp, string bootSpec)
    {
        string disk = temp["disk.img"];
        var layout = TestDisks.Partition(disk, 620, "label: gpt\nstart=2048, size=300MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nsize=300MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n");
        string fstab = $"# /etc/fstab\nUUID={RootUuid} /                       xfs     defaults        0 0\n{bootSpec} /boot xfs defaults 0 0\n";
        string boot = MakeXfs(temp, "boot", BootUuid, tree =>
        {
            Directory.CreateDirectory(Path.Combine(tree, "loader", "entries"));
            Directory.CreateDirectory(Path.Combine(tree, "grub2"));
            File.WriteAllText(Path.Combine(tree, "loader", "entries", "abc-5.14.0-427.el9.x86_64.conf"),
                "title Red Hat Enterprise Linux (5.14.0-427.el9.x86_64) 9.4 (Plow)\nversion 5.14.0-427.el9.x86_64\nlinux /vmlinuz-5.14.0-427.el9.x86_64\ninitrd /initramfs-5.14.0-427.el9.x86_64.img $tuned_initrd\noptions root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M rhgb quiet\n");
            File.WriteAllText(Path.Combine(tree, "grub2", "grubenv"), "# GRUB Environment Block\nsaved_entry=abc-5.14.0-427.el9.x86_64\n" + new string('#', 965));
            File.WriteAllText(Path.Combine(tree, "vmlinuz-5.14.0-427.el9.x86_64"), "kernel");
        });
        string root = MakeXfs(temp, "root", RootUuid, tree =>
        {
            XfsTestImage.PopulateDefault(tree);
            File.WriteAllText(Path.Combine(tree, "etc", "fstab"), fstab);
            Directory.Delete(Path.Combine(tree, "boot"), recursive: true);
            Directory.CreateDirectory(Path.Combine(tree, "boot"));
        });
        PlaceSparse(disk, boot, layout[1].Offset);
        PlaceSparse(disk, root, layout[2].Offset);
        return disk;
    }

    private static string MakeXfs(TempDir temp, string name, string uuid, Action<string> populate)
    {
        string tree = temp[name + "-tree"];
        Directory.CreateDirectory(tree);
        populate(tree);
        string proto = temp[name + ".proto"];
        File.WriteAllText(proto, XfsTestImage.Protofile(tree));
        string image = temp[name + ".img"];
        using (var f = File.Create(image))
        {
            f.SetLength(300L << 20);
        }
        ExternalTool.RunChecked("mkfs.xfs", "-q", "-f", "-m", $"uuid={uuid}", "-L", name, "-p", proto, image);
        return image;
    }

    private static void PlaceSparse(string disk, string image, long offset)
    {
        using var d = new FileStream(disk, FileMode.Open, FileAccess.Write);
        using var s = File.OpenRead(image);
        var buffer = new byte[1 << 16];
        for (long at = 0; at < s.Length; at += buffer.Length)
        {
            int n = s.Read(buffer, 0, buffer.Length);
            if (buffer.AsSpan(0, n).ContainsAnyExcept((byte)0))
            {
                d.Position = offset + at;
                d.Write(buffer, 0, n);
            }
        }
    }

    [TestMethod]
    [DataRow("UUID=" + BootUuid)]
    [DataRow("LABEL=boot")]
    [DataRow("/dev/sda1")]
    public void Xfs_root_and_boot_are_found_mounted_read_and_rewritten_in_place(string bootSpec)
    {
        using var temp = new TempDir("guest-xfs");
        string disk = BuildDisk(temp, bootSpec);
        using var image = new RawDiskImage(SourceFile.Open(disk));
        var overlay = new DiskOverlay(image);
        var sw = Stopwatch.StartNew();
        var guest = GuestMounts.Open(overlay, disk);
        Assert.AreEqual("partition 2", guest.Root.Volume.Name);
        Assert.AreEqual("xfs", guest.Root.FstabType);
        Assert.AreEqual("xfs", guest.Root.Volume.FstabType);
        Assert.AreEqual(2, guest.Mounts.Count, string.Join("; ", guest.Diagnostics.Select(d => d.Message)));
        Assert.AreEqual("/boot", guest.Mounts[1].MountPoint);
        Assert.AreEqual("partition 1", guest.Mounts[1].Volume.Name);
        Assert.AreEqual(0, guest.Diagnostics.Count);

        StringAssert.Contains(Encoding.UTF8.GetString(guest.ReadFile("/etc/os-release")), "ID=\"rhel\"");
        StringAssert.Contains(Encoding.UTF8.GetString(guest.ReadFile("/boot/loader/entries/abc-5.14.0-427.el9.x86_64.conf")), "rhgb quiet");
        StringAssert.StartsWith(Encoding.UTF8.GetString(guest.ReadFile("/boot/grub2/grubenv")), "# GRUB Environment Block\nsaved_entry=abc-");
        Assert.AreEqual("/usr/share/zoneinfo/Etc/UTC", guest.Stat("/etc/localtime")!.LinkTarget);
        Assert.IsTrue(guest.ListDirectory("/boot").Any(e => e.Path == "/boot/loader" && e.Kind == GuestFileKind.Directory));
        CollectionAssert.AreEqual(guest.ReadFile("/etc/fstab"), guest.ReadFile("/boot/../etc/fstab"));
        long bytes = ReadTree(guest, "/etc") + ReadTree(guest, "/boot");
        long readMs = sw.ElapsedMilliseconds;

        Assert.IsTrue(overlay.IsEmpty);

        // Three changed files that fit the blocks they have: written, on both file systems.
        sw.Restart();
        const string Entry = "abc-5.14.0-427.el9.x86_64.conf";
        string bls = Encoding.UTF8.GetString(guest.ReadFile("/boot/loader/entries/" + Entry)).Replace("rhgb quiet", "console=ttyS0,115200n8 earlyprintk=ttyS0 rootdelay=300", StringComparison.Ordinal);
        guest.WriteFile("/boot/loader/entries/" + Entry, Encoding.UTF8.GetBytes(bls));
        guest.WriteFile("/boot/grub2/grubenv", Encoding.UTF8.GetBytes("# GRUB Environment Block\nsaved_entry=x\n" + new string('#', 985)));
        guest.WriteFile("/etc/fstab", Encoding.UTF8.GetBytes($"UUID={RootUuid} / xfs defaults 0 0\n{bootSpec} /boot xfs defaults 0 0\n"));
        sw.Stop();
        TestContext.WriteLine($"Engine time: open the guest and read /etc and /boot of the XFS root ({bytes} bytes) {readMs} ms; write three files {sw.ElapsedMilliseconds} ms");
        Assert.AreEqual(bls, Encoding.UTF8.GetString(guest.ReadFile("/boot/loader/entries/" + Entry)));
        Assert.IsFalse(overlay.IsEmpty);
        // Allocating changes: a new file, a deleted one, a rename.
        guest.WriteFile("/etc/waagent.conf", "Provisioning.Agent=auto\n"u8);
        guest.Rename("/etc/os-release", "/etc/os-release.renamed");
        guest.Rename("/etc/os-release.renamed", "/etc/os-release");
        guest.Delete("/etc/waagent.conf");
        guest.WriteFile("/etc/waagent.conf", "Provisioning.Agent=auto\n"u8);
        var reopened = GuestMounts.Open(overlay, disk);
        Assert.AreEqual(bls, Encoding.UTF8.GetString(reopened.ReadFile("/boot/loader/entries/" + Entry)));
        Assert.AreEqual(2, reopened.Mounts.Count);
        Assert.AreEqual("Provisioning.Agent=auto\n", Encoding.UTF8.GetString(reopened.ReadFile("/etc/waagent.conf")));
        foreach (var m in reopened.Mounts)
        {
            string extracted = TestDisks.Extract(temp, m.Volume.Volume, m.Volume.Name.Replace(' ', '-') + ".out");
            var repair = ExternalTool.Run("xfs_repair", ["-n", extracted]);
            Assert.AreEqual(0, repair.ExitCode, repair.All);
        }
    }

    private static long ReadTree(GuestMounts guest, string dir)
    {
        long total = 0;
        foreach (var e in guest.ListDirectory(dir))
        {
            total += e.Kind switch
            {
                GuestFileKind.File => guest.ReadFile(e.Path).Length,
                GuestFileKind.Directory => ReadTree(guest, e.Path),
                _ => 0,
            };
        }
        return total;
    }
}
