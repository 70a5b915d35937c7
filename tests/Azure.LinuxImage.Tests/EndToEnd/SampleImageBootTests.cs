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
        Assert.AreEqual(0, build.ExitCode, build.Output);

        string before = QemuBoot.BootUntil(source, "vpc", "Linux version", TimeSpan.FromSeconds(60));
        StringAssert.Contains(before, "Booting `Debian GNU/Linux'", "GRUB ran on the source disk");
        Assert.IsFalse(before.Contains("Linux version", StringComparison.Ordinal), "the unpatched kernel does not write to the serial console");

        string after = QemuBoot.BootUntil(project.ImagePath, "vpc", "login:", TimeSpan.FromSeconds(240));
        StringAssert.Contains(after, "Linux version", "kernel log on ttyS0");
        StringAssert.Contains(after, "console=ttyS0,115200n8");
        StringAssert.Contains(after, "login:", "a login prompt on the serial console");
    }
}
