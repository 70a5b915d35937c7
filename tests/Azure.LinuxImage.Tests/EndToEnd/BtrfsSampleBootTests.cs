using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.EndToEnd;

/// <summary>
/// Issue 11: the sample's Debian 12 on a btrfs root (scripts/make-btrfs-sample-disk.sh), built by
/// `dotnet build` (grub.cfg, fstab and the initramfs rewritten copy-on-write), judged by
/// `btrfs check --readonly --check-data-csum` and by booting the result under qemu (SeaBIOS, TCG):
/// GRUB reads the patched grub.cfg and initramfs from btrfs, the kernel mounts the root and a login
/// prompt reaches the serial console.
/// </summary>
[TestClass]
public sealed class BtrfsSampleBootTests
{
    [TestMethod]
    [Timeout(1800_000, CooperativeCancellation = true)]
    public void Debian_on_a_btrfs_root_builds_and_boots_to_a_login_on_ttyS0()
    {
        using var project = new ImageProject();
        // rootdelay=300 makes Debian's initramfs wait five minutes on every boot: not in a test.
        project.WriteOsDisk(SampleDisk.BtrfsPath, """
            <ItemGroup>
              <KernelParameter Remove="rootdelay=300" />
            </ItemGroup>
            """);
        var build = project.Build();
        Assert.AreEqual(0, build.ExitCode, build.Diagnostics);
        var check = DiskRegions.BtrfsCheck(project.ImagePath, DiskRegions.Partition(project.ImagePath, 1));
        Assert.AreEqual(0, check.ExitCode, check.All);
        StringAssert.Contains(check.All, "no error found");

        string log = QemuBoot.BootUntil(project.ImagePath, "vpc", "login:", TimeSpan.FromSeconds(600));
        StringAssert.Contains(log, "console=ttyS0,115200n8", "GRUB passed the patched command line read from btrfs");
        StringAssert.Contains(log, "BTRFS info (device", "the kernel mounted the btrfs root");
        StringAssert.Contains(log, "login:", "a login prompt on the serial console");
    }
}
