using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.Guest.Boot;
using Azure.LinuxImage.Engine.Guest.Initramfs;

namespace Azure.LinuxImage.Engine.Validation.Guest;

/// <summary>R5: every installed kernel can mount UDF (module, modules.builtin or CONFIG_UDF_FS).</summary>
public sealed class UdfRule : IGuestRule
{
    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        foreach (var kernel in context.Kernels)
        {
            var modules = context.Modules(kernel.Version);
            bool hasModuleFile = modules is not null && (modules.HasModule("udf")
                || GuestFiles.List(context.FileSystem, modules.Directory + "/kernel/fs/udf").Any(e => GuestPath.GetFileName(e.Path).StartsWith("udf.ko", StringComparison.Ordinal)));
            bool builtin = modules?.IsBuiltin("udf") ?? false;
            char? config = modules?.ConfigOption("CONFIG_UDF_FS");
            if (hasModuleFile || builtin || config is 'y' || (config is 'm' && hasModuleFile))
            {
                string how = builtin || config == 'y' ? "built in" : "as the udf module";
                yield return RuleOutcome.Pass("R5.udf", DiagnosticCatalog.KernelLacksUdf, $"Kernel {kernel.Version} mounts UDF ({how}).", kernel.KernelPath);
            }
            else
            {
                yield return RuleOutcome.Fail("R5.udf", DiagnosticCatalog.KernelLacksUdf, kernel.KernelPath, kernel.Version);
            }
        }
    }
}

/// <summary>R6 and R8: NUMA (numa=off below 2.6.37 / RHEL 2.6.32-504), RHEL 6.0–6.3 LIS, custom kernels below 3.8.</summary>
public sealed class KernelVersionRule : IGuestRule
{
    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        if (context.Kernels.Count == 0)
        {
            yield return RuleOutcome.Fail("R8.kernel", DiagnosticCatalog.KernelNotFound, "/boot");
            yield break;
        }
        var entries = BootLoaderConfiguration.ReadEntries(context.FileSystem);
        foreach (var kernel in context.Kernels)
        {
            var version = kernel.Parsed;
            if (version is null)
            {
                continue;
            }
            if (version.NeedsNumaOff)
            {
                string threshold = version.IsRhelBased ? "2.6.32-504 (RHEL 6.6)" : "2.6.37";
                var bootEntries = entries.Where(e => e.Source != BootEntrySource.Defaults && (e.Kernel is null || e.Kernel.Text == kernel.Version)).ToList();
                var lacking = bootEntries.Where(e => !KernelCommandLine.Has(e.Parameters, "numa=off")).ToList();
                foreach (var entry in lacking)
                {
                    yield return RuleOutcome.Fail("R6.numa", DiagnosticCatalog.KernelNeedsNumaOff, entry.File, kernel.Version, threshold, BootLoaderConfiguration.Describe(entry));
                }
                if (lacking.Count == 0)
                {
                    yield return RuleOutcome.Pass("R6.numa", DiagnosticCatalog.KernelNeedsNumaOff, $"Kernel {kernel.Version} is older than {threshold} and boots with numa=off.", kernel.KernelPath);
                }
            }
            else
            {
                yield return RuleOutcome.Pass("R6.numa", DiagnosticCatalog.KernelNeedsNumaOff, $"Kernel {kernel.Version} supports NUMA on Hyper-V.", kernel.KernelPath);
            }

            var modules = context.Modules(kernel.Version);
            bool hasHyperV = modules is not null && (modules.HasModule("hv_vmbus") || modules.IsBuiltin("hv_vmbus"));
            if (version.IsRhel6WithoutHyperVDrivers && !hasHyperV)
            {
                yield return RuleOutcome.Fail("R8.lis", DiagnosticCatalog.KernelNeedsLis, kernel.KernelPath, kernel.Version);
            }
            else if (version.IsOlderThan(3, 8) && !(version.IsRhelBased && hasHyperV))
            {
                yield return RuleOutcome.Fail("R8.version", DiagnosticCatalog.KernelTooOld, kernel.KernelPath, kernel.Version);
            }
            else
            {
                yield return RuleOutcome.Pass("R8.version", DiagnosticCatalog.KernelTooOld, $"Kernel {kernel.Version} meets the article's version guidance.", kernel.KernelPath);
            }
        }
    }
}
