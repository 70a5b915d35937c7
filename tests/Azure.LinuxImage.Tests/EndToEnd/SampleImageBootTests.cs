using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.EndToEnd;

/// <summary>
/// The point of R12: Azure's serial console shows the kernel only when the kernel writes to ttyS0.
/// The unpatched Debian disk shows GRUB and then nothing; the built image shows the kernel log and
/// a login prompt on the serial port. Booted under qemu (TCG), as the real judge.
/// </summary>
[TestClass]
public sealed class SampleImageBootTests
{
    [TestMethod]
    [Timeout(1800_000, CooperativeCancellation = true)]
    public void BuiltImage_BootsWithKernelLogAndLoginOnSerialConsole()
    {
        string source = SampleDisk.Path;
        using var project = new ImageProject();
        // rootdelay=300 makes Debian's initramfs wait five minutes on every boot: not in a test.
        project.WriteOsDisk(source, """
            <ItemGroup>
              <KernelParameter Remove="rootdelay=300" />
            </ItemGroup>
            """);
        var build = project.Build();
        Assert.AreEqual(0, build.ExitCode, build.Diagnostics);

        string before = QemuBoot.BootUntil(source, "vpc", "Linux version", TimeSpan.FromSeconds(60));
        // GRUB draws its menu with cursor moves, which can fall inside the line it prints.
        StringAssert.Contains(System.Text.RegularExpressions.Regex.Replace(before, @"\x1b\[[0-9;?]*[A-Za-z]", ""), "Booting `Debian GNU/Linux'", "GRUB ran on the source disk");
        Assert.IsFalse(before.Contains("Linux version", StringComparison.Ordinal), "the unpatched kernel does not write to the serial console");

        string after = QemuBoot.BootUntil(project.ImagePath, "vpc", "login:", TimeSpan.FromSeconds(240));
        StringAssert.Contains(after, "Linux version", "kernel log on ttyS0");
        StringAssert.Contains(after, "console=ttyS0,115200n8");
        StringAssert.Contains(after, "login:", "a login prompt on the serial console");
    }

    /// <summary>
    /// Changing one kernel parameter re-patches in place without converting again, and the image
    /// equals what a clean build with the new setting produces (same data, e2fsck clean).
    /// </summary>
    [TestMethod]
    [Timeout(1800_000, CooperativeCancellation = true)]
    public void ChangedKernelParameter_RepatchesInPlace_AndEqualsACleanBuild()
    {
        string source = SampleDisk.Path;
        // Guest file times come from SOURCE_DATE_EPOCH, so two builds can be compared byte for byte.
        Environment.SetEnvironmentVariable("SOURCE_DATE_EPOCH", "1700000000");
        // No WaagentSetting: the SDK chooses the provisioning agent (issue 16), identically in both builds.
        const string Settings = "";
        using var incremental = new ImageProject();
        incremental.WriteOsDisk(source, $"<ItemGroup>{Settings}</ItemGroup>");
        var first = incremental.Build();
        Assert.AreEqual(0, first.ExitCode, first.Diagnostics);

        incremental.WriteOsDisk(source, $"""<ItemGroup>{Settings}<KernelParameter Include="net.ifnames=0" /></ItemGroup>""");
        var second = incremental.Build();
        Assert.AreEqual(0, second.ExitCode, second.Diagnostics);
        StringAssert.Contains(second.Output, "Skipping target \"ConvertImage\"");
        Assert.IsFalse(second.Output.Contains("Skipping target \"PatchImage\"", StringComparison.Ordinal));

        using var clean = new ImageProject();
        clean.WriteOsDisk(source, $"""<ItemGroup>{Settings}<KernelParameter Include="net.ifnames=0" /></ItemGroup>""");
        var cleanBuild = clean.Build();
        Assert.AreEqual(0, cleanBuild.ExitCode, cleanBuild.Diagnostics);

        var compare = ExternalTool.Run("qemu-img", ["compare", "-f", "vpc", "-F", "vpc", incremental.ImagePath, clean.ImagePath]);
        Assert.AreEqual(0, compare.ExitCode, compare.All);
        var fsck = ExternalTool.Run("e2fsck", ["-fn", incremental.ImagePath + "?offset=1048576"]);
        Assert.AreEqual(0, fsck.ExitCode, fsck.All);
        var grub = ExternalTool.RunChecked("debugfs", "-R", "cat /boot/grub/grub.cfg", incremental.ImagePath + "?offset=1048576").StdOut;
        StringAssert.Contains(grub, "console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300 net.ifnames=0");
        Assert.IsFalse(grub.Contains(" quiet", StringComparison.Ordinal), "quiet removed (R12)");
    }
}
