using System.Text.Json;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.EndToEnd;

/// <summary>
/// Issue 9, the default RHEL-family install end to end: XFS /boot on partition 1, an LVM volume
/// group on partition 2 holding an XFS root and a swap LV (scripts/make-rhel-sample-disk.sh),
/// built by `dotnet build` of a minimal .imgproj with the SDK's defaults. What was patched is read
/// back from the output VHD by the real tools only: sfdisk and the LVM tools say where each file
/// system is, the kernel mounts it read-only, lsinitrd reads the initramfs, xfs_repair -n judges
/// both XFS file systems.
/// </summary>
[TestClass]
public sealed class RhelLayoutBuildTests
{
    private const string Azure = "console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300";

    [TestMethod]
    [Timeout(1800_000, CooperativeCancellation = true)]
    [DataRow("alma9-lvm-xfs.vhd", "almalinux", "5.14.0-427.13.1.el9_4.x86_64", DisplayName = "AlmaLinux 9, GPT")]
    [DataRow("rocky8-lvm-xfs-mbr.vhd", "rl", "4.18.0-513.5.1.el8_9.x86_64", DisplayName = "Rocky Linux 8, MBR")]
    public void Default_RHEL_layout_builds_with_the_SDK_defaults_and_reads_back_patched(string disk, string vg, string kernel)
    {
        bool el9 = vg == "almalinux";
        using var project = new ImageProject();
        project.WriteOsDisk(SampleDisk.Rhel(disk));
        var build = project.Build();
        Assert.AreEqual(0, build.ExitCode, build.Diagnostics);

        // R4 warns on LVM, R14 on the swap LV that stays on the disk; R10 on NetworkManager.
        StringAssert.Contains(build.Output, "warning LIMG0490");
        StringAssert.Contains(build.Output, $"warning LIMG0431: The OS disk has a swap partition or logical volume ({vg}/swap)");
        StringAssert.Contains(build.Output, "warning LIMG0465");
        using (var report = JsonDocument.Parse(File.ReadAllText(project.ReportPath)))
        {
            var rules = report.RootElement.GetProperty("rules").EnumerateArray()
                .Select(r => (Rule: r.GetProperty("rule").GetString()!, Result: r.GetProperty("result").GetString()!)).ToList();
            CollectionAssert.Contains(rules, ("R14.swap", "passed"), "the swap LV left fstab");
            Assert.IsFalse(rules.Any(r => r.Rule.StartsWith("R12", StringComparison.Ordinal) && r.Result == "failed"), "every boot entry has the Azure kernel parameters");
        }

        string image = project.ImagePath;
        var bootPartition = DiskRegions.Partition(image, 1);
        var root = DiskRegions.LogicalVolume(image, DiskRegions.Partition(image, 2), vg, "root");
        foreach (var region in new[] { bootPartition, root })
        {
            var repair = DiskRegions.XfsRepairCheck(image, region);
            Assert.AreEqual(0, repair.ExitCode, repair.All);
        }

        // Every node the patch created carries its parent's SELinux label, as the guest's kernel would give it.
        // The sample is a dynamic VHD; the tools read regions of a raw copy.
        using var sourceCopy = new TempDir("rhel-source");
        string source = sourceCopy["disk.raw"];
        ExternalTool.RunChecked("qemu-img", "convert", "-f", "vpc", "-O", "raw", SampleDisk.Rhel(disk), source);
        var created = AssertCreatedNodesInheritLabels(source, DiskRegions.LogicalVolume(source, DiskRegions.Partition(source, 2), vg, "root"), image, root);
        CollectionAssert.Contains(created, "etc/dracut.conf.d/90-azure-hyperv.conf", "the sample makes the patch create a file");
        AssertCreatedNodesInheritLabels(source, DiskRegions.Partition(source, 1), image, bootPartition);

        DiskRegions.Mounted(image, root, mnt =>
        {
            string Read(string path) => File.ReadAllText(mnt + path);
            var fstab = Read("/etc/fstab").Split('\n');
            Assert.IsTrue(fstab.Any(l => l.StartsWith($"#/dev/mapper/{vg}-swap", StringComparison.Ordinal)), "swap LV commented out of fstab");
            Assert.IsTrue(fstab.Any(l => l.Contains("/boot", StringComparison.Ordinal) && l.Contains(" xfs ", StringComparison.Ordinal) && !l.StartsWith('#')), "/boot stays");
            string grub = Read("/etc/default/grub");
            StringAssert.Contains(grub, Azure);
            Assert.IsFalse(System.Text.RegularExpressions.Regex.IsMatch(grub, @"\b(rhgb|quiet|crashkernel=)"), grub);
            if (el9)
            {
                string cmdline = Read("/etc/kernel/cmdline");
                StringAssert.Contains(cmdline, Azure);
                StringAssert.StartsWith(cmdline, $"root=/dev/mapper/{vg}-root ro");
            }
            StringAssert.Contains(Read("/etc/dracut.conf.d/90-azure-hyperv.conf"), "add_drivers+=\" hv_vmbus hv_storvsc hv_netvsc hv_utils \"");
            string waagent = Read("/etc/waagent.conf");
            StringAssert.Contains(waagent, "\nResourceDisk.Format=y\n");
            StringAssert.Contains(waagent, "\nResourceDisk.EnableSwap=y\n");
            // Deprovisioned: host keys, leases (NetworkManager's), histories gone; machine-id empty; root locked.
            Assert.AreEqual(0, Directory.GetFiles(mnt + "/etc/ssh", "ssh_host_*").Length);
            Assert.AreEqual(0, Directory.GetFiles(mnt + "/var/lib/NetworkManager", "*.lease").Length);
            Assert.IsFalse(File.Exists(mnt + "/root/.bash_history"));
            Assert.AreEqual(0, new FileInfo(mnt + "/etc/machine-id").Length);
            string rootPassword = Read("/etc/shadow").Split('\n')[0].Split(':')[1];
            Assert.IsFalse(rootPassword.StartsWith('$'), $"root's password is locked, not '{rootPassword}'");
            // A rewritten file keeps its SELinux label.
            StringAssert.Contains(ExternalTool.RunChecked("getfattr", "-n", "security.selinux", mnt + "/etc/fstab").StdOut, "system_u:object_r:etc_t:s0");
            return 0;
        });

        DiskRegions.Mounted(image, bootPartition, mnt =>
        {
            string grubenv = File.ReadAllText(mnt + "/grub2/grubenv");
            Assert.AreEqual(1024, grubenv.Length, "grubenv stays one 1 KiB block");
            var kernelopts = grubenv.Split('\n').Single(l => l.StartsWith("kernelopts=", StringComparison.Ordinal));
            StringAssert.Contains(kernelopts, Azure);
            foreach (string entry in Directory.GetFiles(mnt + "/loader/entries", "*.conf"))
            {
                string options = File.ReadAllLines(entry).Single(l => l.StartsWith("options ", StringComparison.Ordinal));
                if (el9)
                {
                    StringAssert.Contains(options, Azure, entry);
                }
                else
                {
                    // RHEL 8: the shared parameters come from grubenv's kernelopts, not twice.
                    Assert.AreEqual("options $kernelopts $tuned_params", options, entry);
                }
            }
            if (!el9)
            {
                // RHEL 8's grub.cfg fallback when grubenv has no kernelopts.
                StringAssert.Contains(File.ReadAllText(mnt + "/grub2/grub.cfg"), Azure);
            }
            string modules = ExternalTool.RunChecked("lsinitrd", mnt + $"/initramfs-{kernel}.img").StdOut;
            foreach (string driver in new[] { "hv_vmbus.ko", "hv_storvsc.ko", "hv_netvsc.ko", "hv_utils.ko" })
            {
                StringAssert.Contains(modules, driver);
            }
            return 0;
        });
    }

    /// <summary>
    /// The paths (relative, without a leading slash) in the output's file system that the source's
    /// does not hold, each asserted to carry a security.selinux equal to its parent directory's, read
    /// by getfattr on read-only kernel mounts.
    /// </summary>
    private static List<string> AssertCreatedNodesInheritLabels(string source, DiskRegions.Region sourceRegion, string output, DiskRegions.Region outputRegion)
    {
        static HashSet<string> Paths(string mnt) =>
            [.. ExternalTool.RunChecked("find", mnt, "-mindepth", "1", "-printf", "%P\n").StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
        var before = DiskRegions.Mounted(source, sourceRegion, Paths, "ro,nouuid");
        return DiskRegions.Mounted(output, outputRegion, mnt =>
        {
            var created = Paths(mnt).Where(p => !before.Contains(p)).Order(StringComparer.Ordinal).ToList();
            foreach (string path in created)
            {
                string parent = Path.GetDirectoryName(path) ?? "";
                var label = FileSystems.XattrWriteTests.Getfattr(Path.Combine(mnt, path)).GetValueOrDefault("security.selinux");
                var parentLabel = FileSystems.XattrWriteTests.Getfattr(Path.Combine(mnt, parent)).GetValueOrDefault("security.selinux");
                Assert.IsNotNull(parentLabel, $"/{parent} has a label in the sample");
                Assert.IsNotNull(label, $"/{path}, created by the patch, has no SELinux label");
                CollectionAssert.AreEqual(parentLabel, label, $"/{path} carries its parent's label");
                Console.WriteLine($"created /{path}: {System.Text.Encoding.ASCII.GetString(label)}");
            }
            return created;
        }, "ro,nouuid");
    }
}
