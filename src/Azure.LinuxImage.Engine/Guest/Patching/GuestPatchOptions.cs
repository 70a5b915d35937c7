using Azure.LinuxImage.Engine.Settings;

namespace Azure.LinuxImage.Engine.Guest.Patching;

public enum AzureDiskController
{
    /// <summary>Not stated: NVMe readiness problems are warnings.</summary>
    Any,
    Scsi,
    /// <summary>The image is for NVMe-based VM sizes: NVMe readiness problems are errors.</summary>
    NVMe,
}

/// <summary>
/// What the project file asks of the guest. Every default is the settings catalog's (the SDK's props
/// are generated from the same definitions), so the engine, the command line and the SDK agree.
/// </summary>
public sealed record GuestPatchOptions
{
    public IReadOnlyList<string> KernelParameters { get; init; } = ImageSettings.Defaults.Items(SettingCatalog.KernelParameter);

    /// <summary>Removed by name whatever their value (crashkernel also removes crashkernel=256M).</summary>
    public IReadOnlyList<string> RemoveKernelParameters { get; init; } = ImageSettings.Defaults.Items(SettingCatalog.RemoveKernelParameter);

    /// <summary>In the order they are added when missing.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> WaagentSettings { get; init; } = ImageSettings.Defaults.Pairs(SettingCatalog.WaagentSetting);

    public bool Deprovision { get; init; } = ImageSettings.Defaults.Boolean(SettingCatalog.Deprovision);

    public string? DeprovisionUser { get; init; }

    public AzureDiskController AzureDiskController { get; init; } = AzureDiskController.Any;

    /// <summary>Every setting of the run: a rule or patch step reads a newer setting from here directly.</summary>
    public ImageSettings Settings { get; init; } = ImageSettings.Defaults;

    public static GuestPatchOptions From(ImageSettings settings) => new()
    {
        KernelParameters = settings.Items(SettingCatalog.KernelParameter),
        RemoveKernelParameters = settings.Items(SettingCatalog.RemoveKernelParameter),
        WaagentSettings = settings.Pairs(SettingCatalog.WaagentSetting),
        Deprovision = settings.Boolean(SettingCatalog.Deprovision),
        DeprovisionUser = settings.Text(SettingCatalog.DeprovisionUser),
        AzureDiskController = settings.Text(SettingCatalog.AzureDiskController) switch
        {
            "SCSI" => AzureDiskController.Scsi,
            "NVMe" => AzureDiskController.NVMe,
            _ => AzureDiskController.Any,
        },
        Settings = settings,
    };
}
