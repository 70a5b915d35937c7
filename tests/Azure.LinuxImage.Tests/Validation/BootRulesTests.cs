using System.IO.Compression;
using Azure.LinuxImage.Engine.Disks.Raw;
using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Engine.Validation;
using Azure.LinuxImage.Engine.Validation.Boot;
using Azure.LinuxImage.Engine.Validation.Guest;
using Azure.LinuxImage.Tests.FileSystems;
using Azure.LinuxImage.Tests.Guest;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Validation;

/// <summary>
/// The firmware rules on disks laid out by sfdisk, with ESPs made by mkfs.vfat and filled by mcopy,
/// and loaders made by the real tools: grub-mkimage (unsigned), sbsign (self-signed) and Debian's
/// shim-signed (signed through Microsoft's UEFI CA).
/// </summary>
[TestClass]
public sealed class BootRulesTests
{
    private const string EspType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
    private const string BiosBootType = "21686148-6449-6E6F-744E-656564454649";
    private const string LinuxType = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

    private static string UnsignedGrub(TempDir temp)
    {
        string efi = temp["grubx64.efi"];
        if (!File.Exists(efi))
        {
            ExternalTool.RunChecked("grub-mkimage", "-O", "x86_64-efi", "-p", "/EFI/debian", "-o", efi, "part_gpt", "fat", "normal", "configfile");
        }
        return efi;
    }

    private static string SelfSigned(TempDir temp)
    {
        string key = temp["db.key"];
        string crt = temp["db.crt"];
        ExternalTool.RunChecked("openssl", "req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=My Machine Owner Key", "-keyout", key, "-out", crt);
        string signed = temp["grubx64.signed.efi"];
        ExternalTool.RunChecked("sbsign", "--key", key, "--cert", crt, "--output", signed, UnsignedGrub(temp));
        return signed;
    }

    private static string MicrosoftSignedShim()
    {
        const string shim = "/usr/lib/shim/shimx64.efi.signed";
        Assert.IsTrue(File.Exists(shim), $"{shim} is missing: install Debian's shim-signed (scripts/install-test-deps.sh).");
        return shim;
    }

    /// <summary>A GPT (or MBR) disk: an optional BIOS boot partition, an ESP holding <paramref name="espFiles"/> (guest path → host file), and a Linux partition.</summary>
    private static string MakeDisk(TempDir temp, bool gpt, IReadOnlyDictionary<string, string>? espFiles, bool biosBootCode, bool biosBootPartition = false)
    {
        string disk = temp[$"disk-{Guid.NewGuid():N}.raw"];
        using (var f = File.Create(disk))
        {
            f.SetLength(100L << 20);
        }
        var layout = new List<string> { gpt ? "label: gpt" : "label: dos" };
        if (biosBootPartition)
        {
            layout.Add($"start=2048, size=2048, type={BiosBootType}");
        }
        if (espFiles is not null)
        {
            layout.Add($"start=4096, size={64 * 2048}, type={(gpt ? EspType : "ef")}");
        }
        layout.Add($"type={(gpt ? LinuxType : "83")}");
        ExternalTool.Run("sfdisk", ["--quiet", disk], stdin: string.Join('\n', layout) + "\n");
        if (espFiles is not null)
        {
            string esp = temp[$"esp-{Guid.NewGuid():N}.img"];
            FatTestImage.Make(temp, esp, 32, 64 * 1024, espFiles.ToDictionary(f => f.Key, f => File.ReadAllBytes(f.Value)), "-s", "1");
            using var d = new FileStream(disk, FileMode.Open, FileAccess.Write);
            d.Position = 4096L * 512;
            d.Write(File.ReadAllBytes(esp));
        }
        if (biosBootCode)
        {
            using var d = new FileStream(disk, FileMode.Open, FileAccess.Write);
            // What GRUB's boot.img starts with: a short jump over the BPB area; any code makes the area non-empty.
            d.Write([0xEB, 0x63, 0x90, 0x10, 0x8E, 0xD0, 0xBC, 0x00, 0xB0]);
        }
        return disk;
    }

    private static IReadOnlyList<RuleOutcome> Check(string disk, GuestValidationOptions options, InMemoryGuestFileSystem? guest = null)
    {
        using var raw = new RawDiskImage(SourceFile.Open(disk));
        return BootRules.Check(raw, disk, guest, options);
    }

    private static GuestValidationOptions Options(HyperVGeneration generation, AzureSecurityType security = AzureSecurityType.Standard) =>
        new() { HyperVGeneration = generation, AzureSecurityType = security };

    private static RuleOutcome Failed(IReadOnlyList<RuleOutcome> outcomes, string code)
    {
        var o = outcomes.FirstOrDefault(x => x.Code == code && !x.Passed);
        Assert.IsNotNull(o, $"{code} expected among: {string.Join("; ", outcomes.Select(x => $"{x.Code} {(x.Passed ? "pass" : "FAIL")} {x.Message}"))}");
        return o;
    }

    private static void NoErrors(IReadOnlyList<RuleOutcome> outcomes) =>
        Assert.IsFalse(outcomes.Any(o => !o.Passed && o.Severity == Engine.Diagnostics.DiagnosticSeverity.Error),
            string.Join("; ", outcomes.Where(o => !o.Passed).Select(o => $"{o.Code} {o.Message}")));

    [TestMethod]
    public void Gen2Disk_WithFallbackLoader_IsDetectedAsV2_AndPassesV2()
    {
        using var temp = new TempDir("boot-v2");
        string grub = UnsignedGrub(temp);
        string disk = MakeDisk(temp, gpt: true, new Dictionary<string, string> { ["EFI/BOOT/BOOTX64.EFI"] = grub, ["EFI/debian/grubx64.efi"] = grub }, biosBootCode: false);
        var detected = Failed(Check(disk, Options(HyperVGeneration.Detect)), "LIMG0530");
        Assert.AreEqual(Engine.Diagnostics.DiagnosticSeverity.Info, detected.Severity);
        StringAssert.Contains(detected.Message, "boots as V2:");
        StringAssert.Contains(detected.Message, "EFI/BOOT/BOOTX64.EFI");
        var v2 = Check(disk, Options(HyperVGeneration.V2));
        NoErrors(v2);
        Assert.IsTrue(v2.Any(o => o.Code == "LIMG0534" && o.Passed));
        Failed(Check(disk, Options(HyperVGeneration.V1)), "LIMG0531");
    }

    [TestMethod]
    public void Gen2Disk_WithoutFallbackLoader_FailsV2_AndHasNoBootPath()
    {
        using var temp = new TempDir("boot-nofallback");
        string disk = MakeDisk(temp, gpt: true, new Dictionary<string, string> { ["EFI/debian/grubx64.efi"] = UnsignedGrub(temp) }, biosBootCode: false);
        var e = Failed(Check(disk, Options(HyperVGeneration.V2)), "LIMG0534");
        StringAssert.Contains(e.Message, "EFI/BOOT/BOOTX64.EFI");
        StringAssert.Contains(e.Message, "empty firmware boot entries");
        StringAssert.Contains(Failed(Check(disk, Options(HyperVGeneration.Detect)), "LIMG0539").Message, "no EFI/BOOT/BOOTX64.EFI");
    }

    [TestMethod]
    public void MbrDisk_WithBootCode_IsV1_AndFailsV2()
    {
        using var temp = new TempDir("boot-v1");
        string disk = MakeDisk(temp, gpt: false, null, biosBootCode: true);
        StringAssert.Contains(Failed(Check(disk, Options(HyperVGeneration.Detect)), "LIMG0530").Message, "boots as V1:");
        NoErrors(Check(disk, Options(HyperVGeneration.V1)));
        Failed(Check(disk, Options(HyperVGeneration.V2)), "LIMG0532");
    }

    [TestMethod]
    public void GptDisk_WithoutEsp_FailsV2_AndZeroMbrFailsV1()
    {
        using var temp = new TempDir("boot-noesp");
        string disk = MakeDisk(temp, gpt: true, null, biosBootCode: false);
        Failed(Check(disk, Options(HyperVGeneration.V2)), "LIMG0533");
        StringAssert.Contains(Failed(Check(disk, Options(HyperVGeneration.V1)), "LIMG0531").Message, "empty");
    }

    [TestMethod]
    public void HybridDisk_BiosBootPartitionAndEsp_IsBothGenerations()
    {
        using var temp = new TempDir("boot-hybrid");
        string disk = MakeDisk(temp, gpt: true, new Dictionary<string, string> { ["EFI/BOOT/BOOTX64.EFI"] = UnsignedGrub(temp) }, biosBootCode: true, biosBootPartition: true);
        StringAssert.Contains(Failed(Check(disk, Options(HyperVGeneration.Detect)), "LIMG0530").Message, "boots as V1 and V2:");
        NoErrors(Check(disk, Options(HyperVGeneration.V1)));
        NoErrors(Check(disk, Options(HyperVGeneration.V2)));
    }

    [TestMethod]
    public void TrustedLaunch_UnsignedSelfSignedAndMicrosoftSignedLoaders()
    {
        using var temp = new TempDir("boot-tl");
        string unsigned = MakeDisk(temp, gpt: true, new Dictionary<string, string> { ["EFI/BOOT/BOOTX64.EFI"] = UnsignedGrub(temp) }, biosBootCode: false);
        Failed(Check(unsigned, Options(HyperVGeneration.V2, AzureSecurityType.TrustedLaunch)), "LIMG0535");

        string self = MakeDisk(temp, gpt: true, new Dictionary<string, string> { ["EFI/BOOT/BOOTX64.EFI"] = SelfSigned(temp) }, biosBootCode: false);
        var e = Failed(Check(self, Options(HyperVGeneration.V2, AzureSecurityType.TrustedLaunch)), "LIMG0536");
        StringAssert.Contains(e.Message, "My Machine Owner Key");
        StringAssert.Contains(e.Message, "self-signed");

        string shim = MakeDisk(temp, gpt: true, new Dictionary<string, string> { ["EFI/BOOT/BOOTX64.EFI"] = MicrosoftSignedShim() }, biosBootCode: false);
        var ok = Check(shim, Options(HyperVGeneration.Detect, AzureSecurityType.TrustedLaunch));
        NoErrors(ok);
        Assert.IsTrue(ok.Any(o => o.Code == "LIMG0536" && o.Passed));
        var pe = PeSignature.Read(File.ReadAllBytes(MicrosoftSignedShim()))!;
        Assert.AreEqual(BootArchitecture.X64, pe.Machine);
        Assert.IsTrue(pe.Certificates.Any(c => c.Issuer.Contains("Microsoft Corporation UEFI CA 2011", StringComparison.Ordinal)), string.Join("; ", pe.Certificates));
    }

    /// <summary>An arm64 kernel Image header (Documentation/arch/arm64/booting.rst: magic "ARM\x64" at 0x38), gzip-compressed as Debian ships vmlinuz.</summary>
    private static byte[] Arm64Vmlinuz()
    {
        var image = new byte[8192];
        image[0] = 0x4D; // "MZ" of the EFI stub
        image[1] = 0x5A;
        "ARM\u0064"u8.CopyTo(image.AsSpan(0x38));
        using var buffer = new MemoryStream();
        using (var gz = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(image);
        }
        return buffer.ToArray();
    }

    [TestMethod]
    public void Arm64Kernel_IsGen2Only_NeedsBootaa64_AndThePl011Console()
    {
        using var temp = new TempDir("boot-arm64");
        var guest = GuestFixtures.Debian12();
        foreach (var k in Engine.Guest.Initramfs.HyperVInitramfs.FindKernels(guest))
        {
            guest.AddBytes(k.KernelPath, Arm64Vmlinuz());
        }
        Assert.AreEqual(BootArchitecture.Arm64, BootRules.GuestArchitecture(guest, Engine.Guest.Initramfs.HyperVInitramfs.FindKernels(guest)));
        // An x64 loader only: no Arm64 UEFI path.
        string disk = MakeDisk(temp, gpt: true, new Dictionary<string, string> { ["EFI/BOOT/BOOTX64.EFI"] = UnsignedGrub(temp) }, biosBootCode: false);
        var outcomes = Check(disk, Options(HyperVGeneration.V2), guest);
        StringAssert.Contains(Failed(outcomes, "LIMG0534").Message, "BOOTAA64.EFI");
        Failed(outcomes, "LIMG0537");
        StringAssert.Contains(Failed(outcomes, "LIMG0538").Message, "ttyAMA0");
        Failed(Check(disk, Options(HyperVGeneration.V1), guest), "LIMG0537");

        // The defaults follow the architecture.
        var defaults = new GuestPatchOptions().KernelParameters;
        var mapped = BootRules.ForArchitecture(defaults, BootArchitecture.Arm64);
        CollectionAssert.AreEqual(new[] { "console=ttyAMA0", "earlycon=pl011,0xeffec000", "rootdelay=300" }, mapped.ToArray());
        Assert.AreSame(defaults, BootRules.ForArchitecture(defaults, BootArchitecture.X64));

        // Patched with the defaults, the Arm64 guest's entries pass the console rule.
        GuestPatcher.Patch(guest, new GuestPatchOptions());
        var after = Check(disk, Options(HyperVGeneration.V2), guest);
        Assert.IsFalse(after.Any(o => o.Code == "LIMG0538" && !o.Passed), string.Join("; ", after.Where(o => o.Code == "LIMG0538").Select(o => o.Message)));
    }

    [TestMethod]
    public void KernelArchitecture_FromPeElfAndBzImageHeaders()
    {
        using var temp = new TempDir("boot-arch");
        Assert.AreEqual(BootArchitecture.X64, KernelArchitecture.Detect(File.ReadAllBytes(UnsignedGrub(temp))));
        var elf = new byte[64];
        "\u007fELF"u8.CopyTo(elf);
        elf[4] = 2;
        elf[5] = 1;
        elf[18] = 183;
        Assert.AreEqual(BootArchitecture.Arm64, KernelArchitecture.Detect(elf));
        elf[18] = 62;
        Assert.AreEqual(BootArchitecture.X64, KernelArchitecture.Detect(elf));
        Assert.AreEqual(BootArchitecture.Unknown, KernelArchitecture.Detect(new byte[100]));
        Assert.IsNull(PeSignature.Read(new byte[10]));
    }
}
