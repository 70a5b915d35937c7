using System.CommandLine;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Engine.Validation;
using Azure.LinuxImage.Engine.Validation.Boot;
using Azure.LinuxImage.Engine.Validation.Guest;

namespace Azure.LinuxImage.Cli.Commands;

/// <summary>The project's guest settings: what patch applies and what validate checks against.</summary>
internal sealed class GuestSettingsOptions
{
    public Option<string[]> KernelParameters { get; } = new("--kernel-parameter") { Description = "A kernel parameter every boot entry must have." };

    public Option<string[]> RemoveKernelParameters { get; } = new("--remove-kernel-parameter") { Description = "A kernel parameter to remove, by name whatever its value." };

    public Option<string[]> WaagentSettings { get; } = new("--waagent-setting") { Description = "KEY=VALUE for /etc/waagent.conf; a later one with the same key wins." };

    public Option<bool> Deprovision { get; } = new("--deprovision") { Description = "Deprovision offline (as waagent -force -deprovision)." };

    public Option<string?> DeprovisionUser { get; } = new("--deprovision-user") { Description = "Also remove this user (as -deprovision+user)." };

    public Option<string?> DiskController { get; } = new("--disk-controller") { Description = "SCSI or NVMe: NVMe makes NVMe readiness problems errors." };

    public Option<string?> Kind { get; } = new("--image-kind") { Description = "OsDisk (default) or DataDisk: a data disk gets no guest patching or guest rules." };

    public Option<string?> HyperVGeneration { get; } = new("--hyperv-generation") { Description = "V1, V2, or empty to detect and report how the disk boots." };

    public Option<string?> SecurityType { get; } = new("--security-type") { Description = "Standard or TrustedLaunch: TrustedLaunch checks the boot loader's Secure Boot signature." };

    public void AddTo(Command command)
    {
        command.Options.Add(HyperVGeneration);
        command.Options.Add(SecurityType);
        command.Options.Add(KernelParameters);
        command.Options.Add(RemoveKernelParameters);
        command.Options.Add(WaagentSettings);
        command.Options.Add(Deprovision);
        command.Options.Add(DeprovisionUser);
        command.Options.Add(DiskController);
        command.Options.Add(Kind);
    }

    public ImageKind ImageKind(ParseResult result) => result.GetValue(Kind)?.Trim().ToLowerInvariant() switch
    {
        null or "" or "osdisk" => Engine.Validation.ImageKind.OsDisk,
        "datadisk" => Engine.Validation.ImageKind.DataDisk,
        var other => throw new LinuxImageException(DiagnosticCatalog.InvalidArgument, null, "ImageKind", $"'{other}' is neither OsDisk nor DataDisk"),
    };

    /// <summary>What validate checks against: the patch settings plus the firmware settings.</summary>
    public GuestValidationOptions CreateValidation(ParseResult result) => GuestValidationOptions.From(Create(result)) with
    {
        HyperVGeneration = result.GetValue(HyperVGeneration)?.Trim().ToUpperInvariant() switch
        {
            null or "" => Engine.Validation.Boot.HyperVGeneration.Detect,
            "V1" => Engine.Validation.Boot.HyperVGeneration.V1,
            "V2" => Engine.Validation.Boot.HyperVGeneration.V2,
            var other => throw new LinuxImageException(DiagnosticCatalog.InvalidArgument, null, "HyperVGeneration", $"'{other}' is neither V1 nor V2"),
        },
        AzureSecurityType = result.GetValue(SecurityType)?.Trim().ToLowerInvariant() switch
        {
            null or "" or "standard" => Engine.Validation.Boot.AzureSecurityType.Standard,
            "trustedlaunch" => Engine.Validation.Boot.AzureSecurityType.TrustedLaunch,
            var other => throw new LinuxImageException(DiagnosticCatalog.InvalidArgument, null, "AzureSecurityType", $"'{other}' is neither Standard nor TrustedLaunch"),
        },
    };

    public GuestPatchOptions Create(ParseResult result)
    {
        var settings = new List<KeyValuePair<string, string>>();
        foreach (string pair in result.GetValue(WaagentSettings) ?? [])
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new LinuxImageException(DiagnosticCatalog.InvalidArgument, null, "WaagentSetting", $"'{pair}' is not KEY=VALUE");
            }
            string key = pair[..eq].Trim();
            string value = pair[(eq + 1)..].Trim();
            int at = settings.FindIndex(p => p.Key == key);
            if (at >= 0)
            {
                settings[at] = new(key, value);
            }
            else
            {
                settings.Add(new(key, value));
            }
        }
        var controller = result.GetValue(DiskController)?.Trim().ToLowerInvariant() switch
        {
            null or "" => AzureDiskController.Any,
            "scsi" => AzureDiskController.Scsi,
            "nvme" => AzureDiskController.NVMe,
            var other => throw new LinuxImageException(DiagnosticCatalog.InvalidArgument, null, "AzureDiskController", $"'{other}' is neither SCSI nor NVMe"),
        };
        return new GuestPatchOptions
        {
            KernelParameters = result.GetValue(KernelParameters) ?? [],
            RemoveKernelParameters = result.GetValue(RemoveKernelParameters) ?? [],
            WaagentSettings = settings,
            Deprovision = result.GetValue(Deprovision),
            DeprovisionUser = result.GetValue(DeprovisionUser),
            AzureDiskController = controller,
        };
    }
}
