using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest.Initramfs;
using Azure.LinuxImage.Engine.Guest.Patching;

namespace Azure.LinuxImage.Engine.Validation.Guest;

/// <summary>
/// R7: hv_vmbus and hv_storvsc in the initramfs of every installed kernel, as modules or built in;
/// beyond the article, the nvme driver for NVMe-based VM sizes (warning, an error when the project
/// says AzureDiskController=NVMe).
/// </summary>
public sealed class InitramfsDriversRule : IGuestRule
{
    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        bool nvmeRequired = context.Options.Patch.AzureDiskController == AzureDiskController.NVMe;
        foreach (var kernel in context.Kernels)
        {
            var modules = context.Modules(kernel.Version);
            if (kernel.InitramfsPath is null)
            {
                bool allBuiltin = modules is not null && HyperVInitramfs.RequiredDrivers.All(modules.IsBuiltin);
                yield return allBuiltin
                    ? RuleOutcome.Pass("R7.initramfs", DiagnosticCatalog.InitramfsMissing, $"Kernel {kernel.Version} has no initramfs but builds the Hyper-V drivers in.", kernel.KernelPath)
                    : RuleOutcome.Fail("R7.initramfs", DiagnosticCatalog.InitramfsMissing, kernel.KernelPath, kernel.Version, HyperVInitramfs.InitramfsCandidates(kernel.Version));
                continue;
            }
            var (image, error) = context.InitramfsModules(kernel.InitramfsPath);
            if (image is null)
            {
                yield return RuleOutcome.From("R7.initramfs", error!);
                continue;
            }
            var missing = HyperVInitramfs.MissingDrivers(image, modules, HyperVInitramfs.RequiredDrivers);
            yield return missing.Count == 0
                ? RuleOutcome.Pass("R7.hyperv-drivers", DiagnosticCatalog.InitramfsLacksHyperVDrivers, $"{kernel.InitramfsPath} has {string.Join(" and ", HyperVInitramfs.RequiredDrivers)} (module or built in).", kernel.InitramfsPath)
                : RuleOutcome.Fail("R7.hyperv-drivers", DiagnosticCatalog.InitramfsLacksHyperVDrivers, kernel.InitramfsPath, kernel.InitramfsPath, kernel.Version, string.Join(", ", missing));

            var nvmeMissing = HyperVInitramfs.MissingDrivers(image, modules, ["nvme"]);
            yield return nvmeMissing.Count == 0
                ? RuleOutcome.Pass("nvme.initramfs", DiagnosticCatalog.NvmeDriverMissing, $"{kernel.InitramfsPath} has the nvme driver.", kernel.InitramfsPath)
                : RuleOutcome.FailAs("nvme.initramfs", DiagnosticCatalog.NvmeDriverMissing, nvmeRequired ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning, kernel.InitramfsPath, kernel.InitramfsPath, kernel.Version);
        }
    }
}
