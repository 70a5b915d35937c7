using System.CommandLine;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Engine.Validation;

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

    public void AddTo(Command command)
    {
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
