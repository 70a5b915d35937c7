using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Validation.Guest;

/// <summary>R4: standard partitions rather than LVM on the OS disk; the disk layer says whether LVM is there.</summary>
public sealed class LvmRule : IGuestRule
{
    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        yield return context.Options.OsDiskLvm is { } lvm
            ? RuleOutcome.Fail("R4.lvm", DiagnosticCatalog.LvmOnOsDisk, null, lvm)
            : RuleOutcome.Pass("R4.lvm", DiagnosticCatalog.LvmOnOsDisk, "The OS disk does not use LVM.");
    }
}
