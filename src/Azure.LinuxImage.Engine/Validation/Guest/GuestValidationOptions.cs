using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Engine.Settings;
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

    /// <summary>
    /// The build's intermediate folder for what earlier steps learned of the guest (the patch step's
    /// initramfs module lists), or null to read everything from the image.
    /// </summary>
    public string? CacheDirectory { get; init; }

    public static GuestValidationOptions From(GuestPatchOptions patch) => new() { Patch = patch };

    /// <summary>The project's settings (the catalog's defaults where it says nothing): what patch applied and what validation checks.</summary>
    public static GuestValidationOptions From(ImageSettings settings) => new()
    {
        Patch = GuestPatchOptions.From(settings),
        HyperVGeneration = settings.Text(SettingCatalog.HyperVGeneration)?.ToUpperInvariant() switch
        {
            "V1" => HyperVGeneration.V1,
            "V2" => HyperVGeneration.V2,
            _ => HyperVGeneration.Detect,
        },
        AzureSecurityType = string.Equals(settings.Text(SettingCatalog.AzureSecurityType), "TrustedLaunch", StringComparison.OrdinalIgnoreCase)
            ? AzureSecurityType.TrustedLaunch
            : AzureSecurityType.Standard,
    };
}
