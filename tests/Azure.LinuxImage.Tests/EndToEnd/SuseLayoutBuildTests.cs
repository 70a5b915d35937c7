using System.Security.Cryptography;
using System.Text.Json;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.EndToEnd;

/// <summary>
/// Issue 11, SUSE's layout end to end: SLES 15 SP5 as YaST installs it on BIOS
/// (scripts/make-suse-sample-disk.sh): snapper's @/.snapshots/1/snapshot the default subvolume
/// holding the system and /boot/grub2, @/var, @/root, @/home, ... mounted by fstab with
/// `subvol=/@/...`, a read-only snapshot 2 sharing its blocks, dracut's xz initrd, wicked, and a
/// swap partition. `dotnet build` of a minimal .imgproj with the SDK's defaults; the result is
/// judged by `btrfs check --readonly --check-data-csum`, read back through read-only kernel mounts of
/// each subvolume and `lsinitrd`, and snapshot 2 is shown untouched: its tree dumps the same (the
/// same blocks at the same addresses) and its files read back byte for byte as before the build.
/// </summary>
[TestClass]
public sealed class SuseLayoutBuildTests
{
    private const string Azure = "console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300";
    private const string Kernel = "5.14.21-150500.55.19-default";
    private const string Snapshot2 = "subvol=/@/.snapshots/2/snapshot";

    [TestMethod]
    [Timeout(1800_000, CooperativeCancellation = true)]
    public void SLES_15_on_btrfs_with_snapper_builds_with_the_SDK_defaults_and_reads_back_patched()
    {
        string source = SampleDisk.SusePath;
        using var work = new TempDir();
        string sourceRaw = work["source.raw"];
        ExternalTool.RunChecked("qemu-img", "convert", "-f", "vpc", "-O", "raw", source, sourceRaw);
        var before = SnapshotState(sourceRaw);
        Assert.IsTrue(before.Files.ContainsKey("/boot/initrd-" + Kernel), "snapshot 2 holds the kernel's initrd");

        using var project = new ImageProject();
        project.WriteOsDisk(source);
        var build = project.Build();
        Assert.AreEqual(0, build.ExitCode, build.Diagnostics);
        StringAssert.Contains(build.Output, "warning LIMG0431", "the swap partition stays on the disk (R14)");
        Console.WriteLine(string.Join('\n', build.Output.Split('\n').Where(l => l.Contains("LIMG", StringComparison.Ordinal)).Distinct()));
        using (var report = JsonDocument.Parse(File.ReadAllText(project.ReportPath)))
        {
            Assert.AreEqual(0, report.RootElement.GetProperty("summary").GetProperty("errors").GetInt32(), "no validation errors");
            var rules = report.RootElement.GetProperty("rules").EnumerateArray()
                .Select(r => (Rule: r.GetProperty("rule").GetString()!, Result: r.GetProperty("result").GetString()!)).ToList();
            CollectionAssert.Contains(rules, ("R14.swap", "passed"), "the swap partition left fstab");
            Assert.IsFalse(rules.Any(r => r.Rule.StartsWith("R12", StringComparison.Ordinal) && r.Result == "failed"), "every boot entry has the Azure kernel parameters");
            Assert.IsFalse(rules.Any(r => r.Rule.StartsWith("R7", StringComparison.Ordinal) && r.Result == "failed"), "the initrd has the Hyper-V drivers");
            Assert.IsFalse(rules.Any(r => r.Rule.StartsWith("R16", StringComparison.Ordinal) && r.Result == "failed"), "deprovisioned");
        }

        string image = project.ImagePath;
        var root = DiskRegions.Partition(image, 2);
        var check = DiskRegions.BtrfsCheck(image, root);
        Assert.AreEqual(0, check.ExitCode, check.All);
        StringAssert.Contains(check.All, "no error found");

        // The default subvolume is still snapshot 1, which `/` mounts without options.
        var after = SnapshotState(image);
        Assert.AreEqual(before.DefaultSubvolume, after.DefaultSubvolume, "the default subvolume did not change");
        StringAssert.EndsWith(after.DefaultSubvolume, "path @/.snapshots/1/snapshot");
        Assert.AreEqual(before.TreeDump, after.TreeDump, "snapshot 2's tree: the same blocks at the same addresses, the same items");
        CollectionAssert.AreEquivalent(before.Files.Keys.ToList(), after.Files.Keys.ToList(), "snapshot 2's names");
        foreach (var (path, digest) in before.Files)
        {
            Assert.AreEqual(digest, after.Files[path], $"snapshot 2's {path} is byte for byte as before");
        }
        Assert.AreEqual("ro=true", after.ReadOnly, "snapshot 2 stays read-only");

        DiskRegions.Mounted(image, root, mnt =>
        {
            string Read(string path) => File.ReadAllText(mnt + path);
            StringAssert.Contains(Read("/etc/os-release"), "SUSE Linux Enterprise Server 15 SP5", "the default subvolume is the SLES system");
            var fstab = Read("/etc/fstab").Split('\n');
            Assert.IsTrue(fstab.Any(l => l.StartsWith("#UUID=", StringComparison.Ordinal) && l.Contains(" swap ", StringComparison.Ordinal)), "swap commented out of fstab:\n" + string.Join('\n', fstab));
            Assert.AreEqual(9, fstab.Count(l => !l.StartsWith('#') && l.Contains("subvol=/@/", StringComparison.Ordinal)), "every subvolume line stays");

            string grubDefaults = Read("/etc/default/grub");
            // grub2-mkconfig passes GRUB_CMDLINE_LINUX and then GRUB_CMDLINE_LINUX_DEFAULT to the normal entries.
            string cmdline = grubDefaults.Split('\n').Single(l => l.StartsWith("GRUB_CMDLINE_LINUX=", StringComparison.Ordinal));
            string cmdlineDefault = grubDefaults.Split('\n').Single(l => l.StartsWith("GRUB_CMDLINE_LINUX_DEFAULT=", StringComparison.Ordinal));
            StringAssert.Contains(cmdline + " " + cmdlineDefault, Azure);
            StringAssert.Contains(cmdlineDefault, "splash=silent", "SUSE's own parameters stay");
            Assert.IsFalse(System.Text.RegularExpressions.Regex.IsMatch(cmdline + " " + cmdlineDefault, @"\b(quiet|crashkernel=)"), cmdlineDefault);
            StringAssert.Contains(grubDefaults, "SUSE_BTRFS_SNAPSHOT_BOOTING=\"true\"");
            var linuxLines = Read("/boot/grub2/grub.cfg").Split('\n').Where(l => l.TrimStart().StartsWith("linux", StringComparison.Ordinal)).ToList();
            Assert.AreEqual(2, linuxLines.Count);
            foreach (string line in linuxLines)
            {
                StringAssert.Contains(line, Azure);
                StringAssert.Contains(line, "${extra_cmdline}", "snapper's snapshot entries still pass rootflags= through ${extra_cmdline}");
                StringAssert.Contains(line, $"/boot/vmlinuz-{Kernel} root=UUID=");
                Assert.IsFalse(System.Text.RegularExpressions.Regex.IsMatch(line, @"\b(quiet|crashkernel=)"), line);
            }

            StringAssert.Contains(Read("/etc/dracut.conf.d/90-azure-hyperv.conf"), "hv_vmbus");
            string initrd = ExternalTool.RunChecked("lsinitrd", mnt + "/boot/initrd-" + Kernel).StdOut;
            foreach (string driver in new[] { "hv_vmbus.ko", "hv_storvsc.ko", "hv_netvsc.ko", "hv_utils.ko", "btrfs.ko" })
            {
                StringAssert.Contains(initrd, driver);
            }

            string waagent = Read("/etc/waagent.conf");
            StringAssert.Contains(waagent, "\nResourceDisk.Format=y\n");
            StringAssert.Contains(waagent, "\nResourceDisk.EnableSwap=y\n");
            StringAssert.Contains(waagent, "\nResourceDisk.SwapSizeMB=2048\n");

            Assert.AreEqual(0, Directory.GetFiles(mnt + "/etc/ssh", "ssh_host_*").Length, "SSH host keys removed");
            Assert.AreEqual(0, new FileInfo(mnt + "/etc/machine-id").Length, "machine-id emptied");
            Assert.AreEqual("localhost", Read("/etc/hostname").Trim());
            string rootPassword = Read("/etc/shadow").Split('\n')[0].Split(':')[1];
            Assert.IsFalse(rootPassword.StartsWith('$'), $"root's password is locked, not '{rootPassword}'");
            // The subvolumes' mount points are empty directories in snapshot 1: nothing was written
            // into them instead of into the subvolumes fstab mounts there.
            foreach (string dir in new[] { "/var", "/root", "/home", "/boot/grub2/i386-pc" })
            {
                Assert.AreEqual(0, Directory.GetFileSystemEntries(mnt + dir).Length, dir + " in snapshot 1");
            }
            return 0;
        });

        DiskRegions.Mounted(image, root, mnt =>
        {
            Assert.IsFalse(File.Exists(mnt + "/log/waagent.log"), "the agent's log is gone from @/var");
            Assert.AreEqual(0, Directory.GetFiles(mnt + "/lib/wicked").Length, "wicked's lease is gone from @/var");
            Assert.IsTrue(File.Exists(mnt + "/log/zypper.log"), "the rest of @/var stays");
            return 0;
        }, "ro,subvol=/@/var");
        DiskRegions.Mounted(image, root, mnt =>
        {
            Assert.IsFalse(File.Exists(mnt + "/.bash_history"), "root's history is gone from @/root");
            return 0;
        }, "ro,subvol=/@/root");
        DiskRegions.Mounted(image, root, mnt =>
        {
            Assert.IsFalse(File.Exists(mnt + "/suse/.bash_history"), "the user's history is gone from @/home");
            return 0;
        }, "ro,subvol=/@/home");
        DiskRegions.Mounted(image, root, mnt =>
        {
            Assert.IsTrue(File.Exists(mnt + "/normal.mod"), "GRUB's modules stay in @/boot/grub2/i386-pc");
            return 0;
        }, "ro,subvol=/@/boot/grub2/i386-pc");
    }

    private sealed record State(string DefaultSubvolume, string TreeDump, string ReadOnly, Dictionary<string, string> Files);

    /// <summary>
    /// What the kernel and btrfs-progs show of snapshot 2 in the root (partition 2) of a raw or fixed
    /// VHD image: its tree as dump-tree prints it, every file's SHA-256 through a read-only mount,
    /// and the file system's default subvolume.
    /// </summary>
    private static State SnapshotState(string image)
    {
        var root = DiskRegions.Partition(image, 2);
        var (defaultSubvolume, readOnly, id) = DiskRegions.Mounted(image, root, mnt =>
        {
            // "ID 258 gen 9 top level 257 path @/.snapshots/1/snapshot": the subvolume, not its generation.
            string def = System.Text.RegularExpressions.Regex.Replace(ExternalTool.RunChecked("btrfs", "subvolume", "get-default", mnt).StdOut.Trim(), @" gen \d+", string.Empty);
            string ro = ExternalTool.RunChecked("btrfs", "property", "get", "-ts", mnt + "/@/.snapshots/2/snapshot", "ro").StdOut.Trim();
            string rootId = ExternalTool.RunChecked("btrfs", "inspect-internal", "rootid", mnt + "/@/.snapshots/2/snapshot").StdOut.Trim();
            return (def, ro, rootId);
        }, "ro,subvolid=5");
        string dump = DiskRegions.OnLoop(image, root, device => ExternalTool.RunChecked("btrfs", "inspect-internal", "dump-tree", "-t", id, device).StdOut);
        // The tree only: dump-tree ends with the file system's totals, which the build changes.
        int totals = dump.IndexOf("\ntotal bytes ", StringComparison.Ordinal);
        dump = totals < 0 ? dump : dump[..totals];
        Assert.Contains("leaf ", dump, "dump-tree printed snapshot 2's tree");
        var files = DiskRegions.Mounted(image, root, mnt =>
        {
            var digests = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string path in Directory.EnumerateFileSystemEntries(mnt, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            {
                var info = new FileInfo(path);
                string name = path[mnt.Length..];
                digests[name] = info.LinkTarget is { } target ? "-> " + target
                    : Directory.Exists(path) ? "dir"
                    : Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
            }
            return digests;
        }, "ro," + Snapshot2);
        return new State(defaultSubvolume, dump, readOnly, files);
    }
}
