using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.Guest.Boot;
using Azure.LinuxImage.Engine.Guest.Initramfs;
using Azure.LinuxImage.Engine.Partitions;
using Azure.LinuxImage.Engine.Validation.Guest;

namespace Azure.LinuxImage.Engine.Validation.Boot;

/// <summary>
/// The firmware rules: which Hyper-V generation the disk can boot as (V1: BIOS boot code; V2: GPT,
/// an ESP and the removable-media loader), Secure Boot's signature for Trusted Launch, and Arm64
/// (Generation 2 only, PL011 serial console).
/// </summary>
public static class BootRules
{
    /// <summary>The architecture of the guest's kernels (the first one recognised), or X64 when none is.</summary>
    public static BootArchitecture GuestArchitecture(IGuestFileSystem fs, IEnumerable<InstalledKernel> kernels)
    {
        ArgumentNullException.ThrowIfNull(fs);
        ArgumentNullException.ThrowIfNull(kernels);
        foreach (var k in kernels)
        {
            byte[] image;
            try
            {
                image = fs.ReadFile(k.KernelPath);
            }
            catch (IOException)
            {
                continue;
            }
            var arch = KernelArchitecture.Detect(image);
            if (arch != BootArchitecture.Unknown)
            {
                return arch;
            }
        }
        return BootArchitecture.X64;
    }

    /// <summary>
    /// The project's kernel parameters for the guest's architecture: on Arm64 the x86 serial port
    /// (ttyS0) does not exist, so the console parameters name the PL011 UART instead.
    /// </summary>
    public static IReadOnlyList<string> ForArchitecture(IReadOnlyList<string> parameters, BootArchitecture architecture)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (architecture != BootArchitecture.Arm64)
        {
            return parameters;
        }
        var result = new List<string>();
        foreach (string p in parameters)
        {
            string mapped = p.StartsWith("console=ttyS", StringComparison.Ordinal) ? Arm64Console
                : p.StartsWith("earlyprintk=ttyS", StringComparison.Ordinal) || p.StartsWith("earlyprintk=serial", StringComparison.Ordinal) ? Arm64EarlyConsole
                : p;
            if (!result.Contains(mapped, StringComparer.Ordinal))
            {
                result.Add(mapped);
            }
        }
        return result;
    }

    public const string Arm64Console = "console=ttyAMA0";

    public const string Arm64EarlyConsole = "earlycon=pl011,0xeffec000";

    /// <summary>
    /// On Arm64, earlyprintk (an x86 parameter) goes: the project's ttyS0 early console becomes
    /// earlycon on the PL011, and an old earlyprintk=ttyS0 must not stay beside it.
    /// </summary>
    public static IReadOnlyList<string> RemoveForArchitecture(IReadOnlyList<string> removeNames, BootArchitecture architecture)
    {
        ArgumentNullException.ThrowIfNull(removeNames);
        return architecture == BootArchitecture.Arm64 && !removeNames.Contains("earlyprintk", StringComparer.Ordinal) ? [.. removeNames, "earlyprintk"] : removeNames;
    }

    /// <summary>The firmware rules on a whole disk, with the guest tree for the kernel's architecture and command lines.</summary>
    public static IReadOnlyList<RuleOutcome> Check(IO.IReadableVolume disk, string source, IGuestFileSystem? guest, GuestValidationOptions options)
    {
        BootLayout layout;
        try
        {
            layout = BootLayout.Inspect(disk, source);
        }
        catch (LinuxImageException e)
        {
            return [RuleOutcome.From("hyperv.generation", e)];
        }
        try
        {
            return Check(layout, guest, options);
        }
        catch (LinuxImageException e)
        {
            return [RuleOutcome.From("hyperv.generation", e)];
        }
    }

    public static IReadOnlyList<RuleOutcome> Check(BootLayout layout, IGuestFileSystem? guest, GuestValidationOptions options)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(options);
        var kernels = guest is null ? [] : HyperVInitramfs.FindKernels(guest);
        var outcomes = new List<RuleOutcome>();
        foreach (var esp in layout.EfiSystemPartitions.Where(e => e.Error is not null))
        {
            outcomes.Add(RuleOutcome.From("uefi.esp", esp.Error!));
        }
        var arch = guest is null ? BootArchitecture.X64 : GuestArchitecture(guest, kernels);
        string loaderPath = arch == BootArchitecture.Arm64 ? "EFI/BOOT/BOOTAA64.EFI" : "EFI/BOOT/BOOTX64.EFI";
        var generation = options.HyperVGeneration;
        bool v1 = layout.BiosBootable;
        bool v2 = layout.UefiBootable(arch);

        if (generation == HyperVGeneration.Detect)
        {
            if (v1 || v2)
            {
                string detected = v1 && v2 ? "V1 and V2" : v1 ? "V1" : "V2";
                outcomes.Add(RuleOutcome.FailAs("hyperv.generation", DiagnosticCatalog.HyperVGenerationDetected, DiagnosticSeverity.Info, null, detected, layout.Describe(arch)));
            }
            else
            {
                outcomes.Add(RuleOutcome.Fail("hyperv.generation", DiagnosticCatalog.NoBootPath, null, UefiProblem(layout, loaderPath)));
            }
        }
        if (generation == HyperVGeneration.V1)
        {
            outcomes.Add(v1
                ? RuleOutcome.Pass("hyperv.v1", DiagnosticCatalog.Gen1WithoutBiosBoot, $"The disk boots from BIOS: {layout.Describe(arch)}.")
                : RuleOutcome.Fail("hyperv.v1", DiagnosticCatalog.Gen1WithoutBiosBoot, null,
                    !layout.MbrBootCode ? "the MBR boot code area is empty" : "the GPT disk has no BIOS boot partition for GRUB's core image"));
        }
        bool checkV2 = generation == HyperVGeneration.V2 || options.AzureSecurityType == AzureSecurityType.TrustedLaunch;
        if (checkV2)
        {
            outcomes.AddRange(CheckV2(layout, arch, loaderPath));
        }
        if (options.AzureSecurityType == AzureSecurityType.TrustedLaunch && layout.Loader(arch) is { } loader)
        {
            outcomes.Add(CheckSignature(loader));
        }
        if (arch == BootArchitecture.Arm64 && guest is not null)
        {
            outcomes.AddRange(CheckArm64(layout, guest, kernels, generation));
        }
        return outcomes;
    }

    private static string UefiProblem(BootLayout layout, string loaderPath)
    {
        if (layout.Scheme != PartitionScheme.Gpt)
        {
            return layout.Scheme == PartitionScheme.Mbr ? "an MBR disk" : "no partition table";
        }
        var esps = layout.EfiSystemPartitions.Where(e => e.Error is null).ToList();
        return esps.Count == 0 ? "no readable EFI system partition" : $"no {loaderPath} on the EFI system partition";
    }

    private static IEnumerable<RuleOutcome> CheckV2(BootLayout layout, BootArchitecture arch, string loaderPath)
    {
        if (layout.Scheme != PartitionScheme.Gpt)
        {
            yield return RuleOutcome.Fail("hyperv.v2", DiagnosticCatalog.Gen2NeedsGpt, null, layout.Scheme == PartitionScheme.Mbr ? "an MBR partition table" : "no partition table");
            yield break;
        }
        var esps = layout.EfiSystemPartitions.Where(e => e.Error is null).ToList();
        if (esps.Count == 0)
        {
            string detail = layout.EfiSystemPartitions.Count > 0 ? " (its FAT file system cannot be read; see the error above)" : string.Empty;
            yield return RuleOutcome.Fail("hyperv.v2", DiagnosticCatalog.Gen2NoEsp, null, detail);
            yield break;
        }
        yield return RuleOutcome.Pass("hyperv.v2.esp", DiagnosticCatalog.Gen2NoEsp, $"EFI system partition: {string.Join(", ", esps.Select(e => e.Name))}.");
        if (layout.Loader(arch) is { } loader)
        {
            yield return RuleOutcome.Pass("hyperv.v2.loader", DiagnosticCatalog.Gen2NoFallbackLoader, $"The EFI system partition has {loader.Path}.");
        }
        else
        {
            var other = esps.SelectMany(e => e.Loaders).FirstOrDefault();
            string hint = other is null ? string.Empty : $" (it has {other.Path}, for {other.Architecture}, but the kernel is {arch})";
            yield return RuleOutcome.Fail("hyperv.v2.loader", DiagnosticCatalog.Gen2NoFallbackLoader, null, string.Join(", ", esps.Select(e => e.Name)), loaderPath, hint);
        }
    }

    private static RuleOutcome CheckSignature(EfiLoader loader)
    {
        var pe = PeSignature.Read(loader.Content);
        if (pe is null)
        {
            return RuleOutcome.Fail("trustedlaunch.signature", DiagnosticCatalog.TrustedLaunchUnsigned, null, loader.Path, " (it is not even a PE image)");
        }
        if (!pe.Signed)
        {
            return RuleOutcome.Fail("trustedlaunch.signature", DiagnosticCatalog.TrustedLaunchUnsigned, null, loader.Path, pe.Problem is null ? string.Empty : $" ({pe.Problem})");
        }
        if (!pe.ChainsToMicrosoftUefiCa)
        {
            string by = pe.Certificates.Count == 0 ? "a signature without certificates"
                : string.Join("; ", pe.Certificates.Select(c => c.Subject == c.Issuer ? $"'{c.Subject}' (self-signed)" : $"'{c.Subject}' issued by '{c.Issuer}'"));
            return RuleOutcome.Fail("trustedlaunch.signature", DiagnosticCatalog.TrustedLaunchNotMicrosoft, null, loader.Path, by, string.Join(" or ", PeSignature.MicrosoftUefiCas));
        }
        return RuleOutcome.Pass("trustedlaunch.signature", DiagnosticCatalog.TrustedLaunchNotMicrosoft, $"{loader.Path} is signed through Microsoft's UEFI CA.");
    }

    private static IEnumerable<RuleOutcome> CheckArm64(BootLayout layout, IGuestFileSystem guest, IReadOnlyList<InstalledKernel> kernels, HyperVGeneration generation)
    {
        string kernel = kernels.Count > 0 ? kernels[0].KernelPath : "in /boot";
        if (generation == HyperVGeneration.V1)
        {
            yield return RuleOutcome.Fail("arm64.generation", DiagnosticCatalog.Arm64NeedsGen2, null, kernel, "HyperVGeneration is V1");
        }
        else if (!layout.UefiBootable(BootArchitecture.Arm64))
        {
            yield return RuleOutcome.Fail("arm64.generation", DiagnosticCatalog.Arm64NeedsGen2, null, kernel, "the disk has no UEFI boot path for Arm64 (GPT, an EFI system partition and EFI/BOOT/BOOTAA64.EFI)");
        }
        else
        {
            yield return RuleOutcome.Pass("arm64.generation", DiagnosticCatalog.Arm64NeedsGen2, "The Arm64 image boots through UEFI.");
        }
        foreach (var entry in BootLoaderConfiguration.ReadEntries(guest).Where(e => e.Description != "GRUB_CMDLINE_LINUX_DEFAULT"))
        {
            string? problem = KernelCommandLine.FindByName(entry.Parameters, "console") is string c && c.StartsWith("console=ttyS", StringComparison.Ordinal)
                ? $"sends the console to {c}"
                : KernelCommandLine.FindByName(entry.Parameters, "earlyprintk") is string e && e.Contains("ttyS", StringComparison.Ordinal)
                    ? $"sends early messages to {e}"
                    : !KernelCommandLine.Has(entry.Parameters, Arm64Console) ? $"lacks {Arm64Console}" : null;
            if (problem is not null)
            {
                yield return RuleOutcome.Fail("arm64.console", DiagnosticCatalog.Arm64Console, entry.File, kernel, BootLoaderConfiguration.Describe(entry), entry.File, problem);
            }
        }
    }
}
