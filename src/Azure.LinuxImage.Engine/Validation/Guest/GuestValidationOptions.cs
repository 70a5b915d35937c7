using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Engine.Validation.Boot;

namespace Azure.LinuxImage.Engine.Validation.Guest;

/// <summary>What validation checks against: the project's settings, and facts only the disk layer knows.</summary>
public sealed record GuestValidationOptions
{
    public GuestPatchOptions Patch { get; init; } = new();

    /// <summary>From the disk layer: how the OS disk uses LVM (e.g. "volume group rhel on partition 2"), or null.</summary>
    public string? OsDiskLvm { get; init; }

    /// <summary>From the disk layer: swap partitions on the OS disk (e.g. "partition 3 (Linux swap)").</summary>
    public IReadOnlyList<string> SwapPartitions { get; init; } = [];

    /// <summary>HyperVGeneration: V1, V2, or Detect (reported, LIMG0530).</summary>
    public HyperVGeneration HyperVGeneration { get; init; }

    /// <summary>AzureSecurityType: TrustedLaunch checks the loader's Secure Boot signature.</summary>
    public AzureSecurityType AzureSecurityType { get; init; }

    public static GuestValidationOptions From(GuestPatchOptions patch) => new() { Patch = patch };
}
