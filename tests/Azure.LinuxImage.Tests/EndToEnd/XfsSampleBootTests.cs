using System.Text.RegularExpressions;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.EndToEnd;

/// <summary>
/// Issue 9: the sample's Debian 12 with XFS root and XFS /boot (scripts/make-xfs-sample-disk.sh),
/// built by `dotnet build`, judged by xfs_repair -n on both file systems and by booting the result
/// under qemu (SeaBIOS, TCG): GRUB reads the patched grub.cfg from XFS, the kernel mounts both
/// XFS file systems and a login prompt reaches the serial console.
/// </summary>
[TestClass]
public sealed class XfsSampleBootTests
{
    [TestMethod]
    [Timeout(1800_000, CooperativeCancellation = true)]
    public void Debian_with_XFS_root_and_boot_builds_and_boots_to_a_login_on_ttyS0()
    {
        using var project = new ImageProject();
        // rootdelay=300 makes Debian's initramfs wait five minutes on every boot: not in a test.
        project.WriteOsDisk(SampleDisk.XfsPath, """
            <ItemGroup>
              <KernelParameter Remove="rootdelay=300" />
            </ItemGroup>
            """);
        var build = project.Build();
        Assert.AreEqual(0, build.ExitCode, build.Diagnostics);
        foreach (int partition in new[] { 1, 2 })
        {
            var repair = DiskRegions.XfsRepairCheck(project.ImagePath, DiskRegions.Partition(project.ImagePath, partition));
            Assert.AreEqual(0, repair.ExitCode, $"partition {partition}: {repair.All}");
        }

        string log = QemuBoot.BootUntil(project.ImagePath, "vpc", "login:", TimeSpan.FromSeconds(600));
        StringAssert.Contains(log, "console=ttyS0,115200n8", "GRUB passed the patched command line read from XFS /boot");
        Assert.IsTrue(Regex.IsMatch(log, @"XFS \(\w+2\): Mounting V5 Filesystem"), "the kernel mounted the XFS root");
        Assert.IsTrue(Regex.IsMatch(log, @"XFS \(\w+1\): Mounting V5 Filesystem"), "systemd mounted XFS /boot");
        StringAssert.Contains(log, "login:", "a login prompt on the serial console");
    }
}
