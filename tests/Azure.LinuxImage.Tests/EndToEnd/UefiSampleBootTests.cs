using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.EndToEnd;

/// <summary>
/// Generation 2: the Debian sample on a GPT disk with an EFI system partition (GRUB for
/// x86_64-efi, a stub grub.cfg, the removable-media loader), built with dotnet build as V2 and
/// booted under OVMF with fresh NVRAM variables to a login on ttyS0. The same disk without
/// EFI/BOOT/BOOTX64.EFI fails V2 validation, and indeed does not boot under OVMF.
/// </summary>
[TestClass]
public sealed class UefiSampleBootTests
{
    private const string Settings = """
        <PropertyGroup>
          <HyperVGeneration>V2</HyperVGeneration>
        </PropertyGroup>
        <ItemGroup>
          <!-- Under TCG on a busy machine Debian's kernel waits minutes in its 8254 timer check on q35; not in a test. -->
          <KernelParameter Include="no_timer_check" />
          <KernelParameter Remove="rootdelay=300" />
          <WaagentSetting Include="Provisioning.Agent" Value="waagent" />
        </ItemGroup>
        """;

    [TestMethod]
    [Timeout(1800_000, CooperativeCancellation = true)]
    public void V2Image_BuildsAndBootsUnderOvmfWithFreshNvram_ToALoginOnTtyS0()
    {
        using var project = new ImageProject();
        project.WriteOsDisk(SampleDisk.UefiPath, Settings);
        var build = project.Build();
        Assert.AreEqual(0, build.ExitCode, build.Diagnostics);
        string report = File.ReadAllText(Path.ChangeExtension(project.ImagePath, ".validation.json"));
        StringAssert.Contains(report, "LIMG0534");

        string after = QemuBoot.BootUefiUntil(project.ImagePath, "vpc", "login:", TimeSpan.FromSeconds(900));
        StringAssert.Contains(after, "Welcome to GRUB", "OVMF found the removable-media loader");
        StringAssert.Contains(after, "Linux version", "kernel log on ttyS0");
        StringAssert.Contains(after, "console=ttyS0,115200n8");
        StringAssert.Contains(after, "login:", "a login prompt on the serial console");
    }

    [TestMethod]
    [Timeout(1800_000, CooperativeCancellation = true)]
    public void WithoutFallbackLoader_V2BuildFails_AndOvmfFindsNothingToBoot()
    {
        using var project = new ImageProject();
        project.WriteOsDisk(SampleDisk.UefiWithoutFallbackPath, Settings);
        var build = project.Build();
        Assert.AreNotEqual(0, build.ExitCode, "a V2 image without EFI/BOOT/BOOTX64.EFI must fail");
        StringAssert.Contains(build.Output, "LIMG0534");
        StringAssert.Contains(build.Output, "EFI/BOOT/BOOTX64.EFI");

        // The firmware with empty NVRAM tries the disk's removable-media path, finds nothing, and ends in its shell.
        string boot = QemuBoot.BootUefiUntil(SampleDisk.UefiWithoutFallbackPath, "vpc", "Shell>", TimeSpan.FromSeconds(240));
        Assert.IsFalse(boot.Contains("Welcome to GRUB", StringComparison.Ordinal), "GRUB must not start");
        StringAssert.Contains(boot, "Shell>", "OVMF fell through to the EFI shell");
    }
}
