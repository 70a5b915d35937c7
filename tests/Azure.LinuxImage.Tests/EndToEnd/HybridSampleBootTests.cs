using System.Text.Json;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.EndToEnd;

/// <summary>
/// A disk that boots both ways, laid out as Ubuntu's cloud images are: GPT with a BIOS boot partition
/// holding GRUB's i386-pc core.img (boot.img in the protective MBR), an ESP with GRUB for x86_64-efi
/// and EFI/BOOT/BOOTX64.EFI, and the Debian sample's ext4 root. Built once with dotnet build and no
/// HyperVGeneration, the validation detects both generations, and the one VHD boots to a login on
/// ttyS0 under SeaBIOS and under OVMF with fresh NVRAM.
/// </summary>
[TestClass]
public sealed class HybridSampleBootTests
{
    // One build for the tests of this class: each boot takes a minute or more under TCG, a build almost as long.
    private static readonly Lazy<ImageProject> Built = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public TestContext TestContext { get; set; } = null!;

    private static ImageProject Build()
    {
        var project = new ImageProject();
        try
        {
            project.WriteOsDisk(SampleDisk.HybridPath, UefiSampleBootTests.BootsUnderTcg);
            var build = project.Build();
            Assert.AreEqual(0, build.ExitCode, build.Diagnostics);
            return project;
        }
        catch
        {
            project.Dispose();
            throw;
        }
    }

    [ClassCleanup]
    public static void RemoveBuild()
    {
        if (Built.IsValueCreated)
        {
            Built.Value.Dispose();
        }
    }

    [TestMethod]
    [Timeout(1800_000, CooperativeCancellation = true)]
    public void Build_DetectsBothGenerations_InTheJsonAndSarifReports()
    {
        var project = Built.Value;
        using var report = JsonDocument.Parse(File.ReadAllText(project.ReportPath));
        var generation = report.RootElement.GetProperty("rules").EnumerateArray().Single(r => r.GetProperty("code").GetString() == "LIMG0530");
        Assert.AreEqual("info", generation.GetProperty("severity").GetString());
        string message = generation.GetProperty("message").GetString()!;
        StringAssert.Contains(message, "The image boots as V1 and V2");
        StringAssert.Contains(message, "BIOS boot code in the protective MBR with a BIOS boot partition");
        StringAssert.Contains(message, "EFI/BOOT/BOOTX64.EFI");
        Assert.IsFalse(report.RootElement.GetProperty("rules").EnumerateArray().Any(r => r.GetProperty("code").GetString() == "LIMG0539"));
        string sarif = File.ReadAllText(Path.ChangeExtension(project.ReportPath, ".sarif"));
        StringAssert.Contains(sarif, "\"ruleId\": \"LIMG0530\"");
    }

    [TestMethod]
    [Timeout(1800_000, CooperativeCancellation = true)]
    public void BuiltImage_BootsUnderSeaBios_FromTheBiosBootPartition_ToALoginOnTtyS0()
    {
        string serial = QemuBoot.BootUntil(Built.Value.ImagePath, "vpc", "login:", TimeSpan.FromSeconds(900));
        TestContext.WriteLine(serial);
        StringAssert.Contains(serial, "SeaBIOS");
        // Printed by core.img's kernel once diskboot.img has loaded it from the BIOS boot partition.
        StringAssert.Contains(serial, "GRUB loading.", "the i386-pc core.img ran");
        QemuBoot.AssertKernelLogAndLoginOnTtyS0(serial);
    }

    [TestMethod]
    [Timeout(1800_000, CooperativeCancellation = true)]
    public void BuiltImage_BootsUnderOvmfWithFreshNvram_FromTheRemovableMediaLoader_ToALoginOnTtyS0()
    {
        string serial = QemuBoot.BootUefiUntil(Built.Value.ImagePath, "vpc", "login:", TimeSpan.FromSeconds(900));
        TestContext.WriteLine(serial);
        StringAssert.Contains(serial, "Welcome to GRUB", "OVMF found the removable-media loader");
        Assert.IsFalse(serial.Contains("GRUB loading.", StringComparison.Ordinal), "not the BIOS boot path");
        // fstab names the ESP by its FAT serial; the guest's own kernel mounts it (vfat) where fstab says.
        StringAssert.Contains(QemuBoot.Plain(serial), "Mounted boot-efi.mount - /boot/efi");
        QemuBoot.AssertKernelLogAndLoginOnTtyS0(serial);
    }
}
