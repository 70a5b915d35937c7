using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.Guest.Fstab;
using Azure.LinuxImage.Engine.Guest.Patching;

namespace Azure.LinuxImage.Engine.Validation.Guest;

/// <summary>R14: no swap on the OS disk: none enabled in fstab, and swap partitions reported.</summary>
public sealed class SwapRule : IGuestRule
{
    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        string? text = GuestFiles.TryReadText(context.FileSystem, FstabFile.DefaultPath);
        var swap = text is null ? [] : FstabFile.Parse(text).Where(e => e.IsSwap).ToList();
        foreach (var entry in swap)
        {
            yield return RuleOutcome.Fail("R14.swap", DiagnosticCatalog.SwapOnOsDisk, FstabFile.DefaultPath, FstabFile.DefaultPath, entry.Line, entry.Spec);
        }
        if (swap.Count == 0)
        {
            yield return RuleOutcome.Pass("R14.swap", DiagnosticCatalog.SwapOnOsDisk, "/etc/fstab enables no swap.", FstabFile.DefaultPath);
        }
        foreach (string partition in context.Options.SwapPartitions)
        {
            yield return RuleOutcome.Fail("R14.swap-partition", DiagnosticCatalog.SwapPartitionPresent, null, partition);
        }
    }
}

/// <summary>Beyond the article: /dev/sdX names in fstab do not exist on NVMe-based VM sizes.</summary>
public sealed class FstabDeviceNamesRule : IGuestRule
{
    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        string? text = GuestFiles.TryReadText(context.FileSystem, FstabFile.DefaultPath);
        var severity = context.Options.Patch.AzureDiskController == AzureDiskController.NVMe ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning;
        var named = text is null ? [] : FstabFile.Parse(text).Where(e => e.UsesSdDeviceName && !e.Options.Contains("noauto", StringComparison.Ordinal)).ToList();
        foreach (var entry in named)
        {
            yield return RuleOutcome.FailAs("nvme.fstab", DiagnosticCatalog.FstabDeviceName, severity, FstabFile.DefaultPath, FstabFile.DefaultPath, entry.Line, entry.Spec);
        }
        if (named.Count == 0)
        {
            yield return RuleOutcome.Pass("nvme.fstab", DiagnosticCatalog.FstabDeviceName, "/etc/fstab names no device by /dev/sdX.", FstabFile.DefaultPath);
        }
    }
}
