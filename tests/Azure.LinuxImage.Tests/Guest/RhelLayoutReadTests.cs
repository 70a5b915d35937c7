using System.Security.Cryptography;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.Guest.Boot;
using Azure.LinuxImage.Engine.Guest.Distributions;
using Azure.LinuxImage.Engine.Guest.Initramfs;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Guest;

/// <summary>
/// Issue 9: the engine's RHEL logic on the default RHEL-family layouts (scripts/make-rhel-sample-disk.sh):
/// the guest tree assembled over LVM and XFS as the guest's boot would mount it, the distribution and
/// its generator, kernels and the dracut initramfs, BLS entries with grubenv's kernelopts — and what
/// the engine reads equals what the Linux kernel reads from the same regions (read-only loop mounts
/// where sfdisk and the LVM tools place them), file contents and SELinux labels alike.
/// </summary>
[TestClass]
public sealed class RhelLayoutReadTests
{
    [TestMethod]
    [DataRow("alma9-lvm-xfs.vhd", "almalinux", "5.14.0-427.13.1.el9_4.x86_64", 9, DisplayName = "AlmaLinux 9, GPT")]
    [DataRow("rocky8-lvm-xfs-mbr.vhd", "rl", "4.18.0-513.5.1.el8_9.x86_64", 8, DisplayName = "Rocky Linux 8, MBR")]
    public void Guest_tree_over_LVM_and_XFS_reads_as_the_kernel_reads_it(string name, string vg, string kernel, int major)
    {
        using var disk = DiskImageOpener.Open(SampleDisk.Rhel(name));
        var guest = GuestMounts.Open(disk, name);

        Assert.AreEqual($"{vg}/root", guest.Root.Volume.Name);
        Assert.IsTrue(guest.RootOnLvm);
        CollectionAssert.AreEqual(new[] { "/ xfs", "/boot xfs" }, guest.Mounts.Select(m => $"{m.MountPoint} {m.FstabType}").ToArray());
        Assert.AreEqual(1, guest.Mounts[1].Volume.Partition?.Number);
        CollectionAssert.AreEqual(new[] { $"{vg}/swap" }, guest.SwapVolumes.Select(v => v.Name).ToArray());
        Assert.IsEmpty(guest.Diagnostics, "every fstab line names a volume");

        var distribution = GuestDistribution.Detect(guest);
        Assert.AreEqual(DistributionFamily.Rhel, distribution.Family);
        Assert.AreEqual(InitramfsGenerator.Dracut, distribution.InitramfsGenerator);
        Assert.AreEqual(major, distribution.MajorVersion);

        // The rescue kernel is not patched (its generic initramfs carries every driver).
        var kernels = HyperVInitramfs.FindKernels(guest);
        Assert.AreEqual(kernel, kernels.Single().Version);
        Assert.AreEqual($"/boot/initramfs-{kernel}.img", kernels[0].InitramfsPath);
        var modules = KernelModules.Load(guest, kernel)!;
        // Found through /lib, a link to usr/lib as on RHEL.
        Assert.IsTrue(HyperVInitramfs.PatchedDrivers.All(modules.HasModule));
        var initramfs = HyperVInitramfs.ReadImage(guest, kernels[0].InitramfsPath!);
        Assert.Contains("xfs", initramfs.ModuleNames());
        CollectionAssert.AreEqual(HyperVInitramfs.PatchedDrivers.ToArray(), HyperVInitramfs.MissingDrivers(initramfs, modules, HyperVInitramfs.PatchedDrivers).ToArray());

        // Every command line: /etc/default/grub, /etc/kernel/cmdline (9), the BLS entries ($kernelopts expanded from grubenv on 8), grubenv, grub.cfg's fallback (8).
        var entries = BootLoaderConfiguration.ReadEntries(guest);
        var bls = entries.Where(e => e.Source == BootEntrySource.BlsEntry).ToList();
        Assert.HasCount(2, bls);
        foreach (var entry in bls)
        {
            Assert.Contains($"root=/dev/mapper/{vg}-root", entry.Parameters, entry.File);
            Assert.Contains("rhgb", entry.Parameters, entry.File);
        }
        Assert.AreEqual(1, entries.Count(e => e.Source == BootEntrySource.GrubEnv));
        Assert.AreEqual(major == 9 ? 1 : 0, entries.Count(e => e.File == "/etc/kernel/cmdline"));
        Assert.AreEqual(major == 9 ? 0 : 1, entries.Count(e => e.Source == BootEntrySource.GrubCfg));

        // The kernel's view of the same bytes.
        using var dir = new TempDir("rhel-read");
        string raw = dir["disk.raw"];
        ExternalTool.RunChecked("qemu-img", "convert", "-f", "vpc", "-O", "raw", SampleDisk.Rhel(name), raw);
        var root = DiskRegions.LogicalVolume(raw, DiskRegions.Partition(raw, 2), vg, "root");
        DiskRegions.Mounted(raw, root, mnt =>
        {
            foreach (string path in new[] { "/etc/fstab", "/etc/os-release", "/etc/default/grub", "/etc/waagent.conf", "/etc/shadow", "/etc/dracut.conf.d/50-anaconda.conf",
                         $"/usr/lib/modules/{kernel}/modules.dep", $"/usr/lib/modules/{kernel}/kernel/drivers/hv/hv_vmbus.ko" })
            {
                CollectionAssert.AreEqual(File.ReadAllBytes(mnt + path), guest.ReadFile(path), path);
            }
            foreach (string path in new[] { "/etc/shadow", "/etc/fstab", "/etc/ssh/ssh_host_rsa_key", "/usr/sbin/sshd" })
            {
                string label = ExternalTool.RunChecked("getfattr", "--only-values", "-n", "security.selinux", mnt + path).StdOut;
                var (fs, node) = guest.Find(path)!.Value;
                Assert.AreEqual(label.TrimEnd('\0'), System.Text.Encoding.UTF8.GetString(fs.ReadXattrs(node)["security.selinux"]).TrimEnd('\0'), path);
            }
            return 0;
        }, "ro,nouuid");
        DiskRegions.Mounted(raw, DiskRegions.Partition(raw, 1), mnt =>
        {
            foreach (string file in Directory.GetFiles(mnt + "/loader/entries").Append(mnt + "/grub2/grubenv").Append(mnt + "/grub2/grub.cfg"))
            {
                string path = "/boot" + file[mnt.Length..];
                CollectionAssert.AreEqual(File.ReadAllBytes(file), guest.ReadFile(path), path);
            }
            CollectionAssert.AreEqual(SHA256.HashData(File.ReadAllBytes(mnt + $"/initramfs-{kernel}.img")), SHA256.HashData(guest.ReadFile($"/boot/initramfs-{kernel}.img")));
            return 0;
        }, "ro,nouuid");
    }
}
