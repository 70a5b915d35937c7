namespace Azure.LinuxImage.Engine.Guest.Patching;

public enum AzureDiskController
{
    /// <summary>Not stated: NVMe readiness problems are warnings.</summary>
    Any,
    Scsi,
    /// <summary>The image is for NVMe-based VM sizes: NVMe readiness problems are errors.</summary>
    NVMe,
}

/// <summary>What the project file asks of the guest; the defaults are the article's recommendations.</summary>
public sealed record GuestPatchOptions
{
    public static readonly IReadOnlyList<string> DefaultKernelParameters = ["console=ttyS0,115200n8", "earlyprintk=ttyS0,115200", "rootdelay=300"];

    public static readonly IReadOnlyList<string> DefaultRemoveKernelParameters = ["rhgb", "quiet", "crashkernel=auto"];

    /// <summary>
    /// R11. ResourceDisk.Format and ResourceDisk.EnableSwap are not here: unless the project sets them
    /// they follow the provisioning agent (y for waagent, n for cloud-init; Guest/Agent/ProvisioningPlan).
    /// </summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> DefaultWaagentSettings =
    [
        new("ResourceDisk.Filesystem", "ext4"),
        new("ResourceDisk.MountPoint", "/mnt/resource"),
        new("ResourceDisk.SwapSizeMB", "2048"),
    ];

    public IReadOnlyList<string> KernelParameters { get; init; } = DefaultKernelParameters;

    /// <summary>Removed by name whatever their value (crashkernel=auto also removes crashkernel=256M).</summary>
    public IReadOnlyList<string> RemoveKernelParameters { get; init; } = DefaultRemoveKernelParameters;

    /// <summary>In the order they are added when missing.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> WaagentSettings { get; init; } = DefaultWaagentSettings;

    public bool Deprovision { get; init; } = true;

    public string? DeprovisionUser { get; init; }

    public AzureDiskController AzureDiskController { get; init; } = AzureDiskController.Any;

    /// <summary>Merges project overrides into the defaults: a setting the project names replaces the default's value.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> MergeWaagentSettings(IEnumerable<KeyValuePair<string, string>> overrides)
    {
        var merged = DefaultWaagentSettings.ToList();
        foreach (var (key, value) in overrides)
        {
            int at = merged.FindIndex(p => p.Key == key);
            if (at >= 0)
            {
                merged[at] = new(key, value);
            }
            else
            {
                merged.Add(new(key, value));
            }
        }
        return merged;
    }
}
