using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Validation.Guest;

/// <summary>R4: standard partitions rather than LVM on the OS disk; the disk layer says whether LVM is there.</summary>
public sealed class LvmRule : IGuestRule
{
    public IEnumerable<GuestRuleOutcome> Check(GuestValidationContext context)
    {
        yield return context.Options.OsDiskLvm is { } lvm
            ? GuestRuleOutcome.Fail("R4.lvm", DiagnosticCatalog.LvmOnOsDisk, null, lvm)
            : GuestRuleOutcome.Pass("R4.lvm", DiagnosticCatalog.LvmOnOsDisk, "The OS disk does not use LVM.");
    }
}
