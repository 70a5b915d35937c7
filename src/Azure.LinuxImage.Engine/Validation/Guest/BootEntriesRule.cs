using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest.Boot;

namespace Azure.LinuxImage.Engine.Validation.Guest;

/// <summary>
/// R12: every kernel command line the boot loader uses now, and the defaults the next
/// regeneration reads, has the project's parameters and none of the removed names.
/// GRUB_CMDLINE_LINUX_DEFAULT is only checked for removed names: it is appended to
/// GRUB_CMDLINE_LINUX, which carries the additions.
/// </summary>
public sealed class BootEntriesRule : IGuestRule
{
    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        var patch = context.Options.Patch;
        BootLoaderConfiguration.EnsureReadable(context.FileSystem);
        var entries = BootLoaderConfiguration.ReadEntries(context.FileSystem);
        // The same parameters the patch step wrote: on Arm64 the console ones name the PL011 UART.
        var architecture = Boot.BootRules.GuestArchitecture(context.FileSystem, context.Kernels);
        var parameters = Boot.BootRules.ForArchitecture(patch.KernelParameters, architecture);
        var removeNames = new KernelParameterEdit(parameters, Boot.BootRules.RemoveForArchitecture(patch.RemoveKernelParameters, architecture)).RemoveNames.ToList();
        foreach (var entry in entries)
        {
            bool failed = false;
            string where = BootLoaderConfiguration.Describe(entry);
            if (entry.Description != "GRUB_CMDLINE_LINUX_DEFAULT")
            {
                foreach (string parameter in parameters.Where(p => !KernelCommandLine.Has(entry.Parameters, p)))
                {
                    failed = true;
                    yield return RuleOutcome.Fail("R12.kernel-cmdline", DiagnosticCatalog.KernelParameterMissing, entry.File, where, entry.File, parameter);
                }
            }
            foreach (string name in removeNames)
            {
                if (KernelCommandLine.FindByName(entry.Parameters, name) is { } present)
                {
                    failed = true;
                    yield return RuleOutcome.Fail("R12.kernel-cmdline", DiagnosticCatalog.KernelParameterForbidden, entry.File, where, entry.File, present,
                        name == "crashkernel" ? "it reserves memory of the VM" : "no graphical or quiet boot in the cloud");
                }
            }
            if (!failed)
            {
                yield return RuleOutcome.Pass("R12.kernel-cmdline", DiagnosticCatalog.KernelParameterMissing, $"{entry.File} {where}: {entry.CommandLine}", entry.File);
            }
        }
    }
}
