using System.CommandLine;
using Azure.LinuxImage.Cli.Output;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Patching;

namespace Azure.LinuxImage.Cli.Commands;

internal static class PatchCommand
{
    public static Command Create(CommonOptions common)
    {
        var image = new Argument<string>("image") { Description = "The fixed VHD to patch in place." };
        var journal = new Option<string>("--journal") { Description = "The patch journal (undo log) kept beside the intermediate files.", Required = true };
        var add = new Option<string[]>("--kernel-parameter") { Description = "A kernel parameter to ensure on every boot entry." };
        var remove = new Option<string[]>("--remove-kernel-parameter") { Description = "A kernel parameter to remove (by name, any value)." };
        var waagent = new Option<string[]>("--waagent-setting") { Description = "KEY=VALUE to set in /etc/waagent.conf." };
        var deprovision = new Option<bool>("--deprovision") { Description = "Deprovision the guest offline (as waagent -force -deprovision)." };
        var user = new Option<string?>("--deprovision-user") { Description = "Also remove this user (as -deprovision+user)." };
        var command = new Command("patch", "Patch the guest offline: kernel command line, waagent.conf, fstab swap, initramfs drivers, deprovisioning.")
        {
            image, journal, add, remove, waagent, deprovision, user,
        };
        common.AddTo(command);
        command.SetAction(result => common.Run(result, writer =>
        {
            var settings = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string pair in result.GetValue(waagent) ?? [])
            {
                int eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new LinuxImageException(DiagnosticCatalog.InvalidArgument, null, "WaagentSetting", $"'{pair}' is not KEY=VALUE");
                }
                settings[pair[..eq].Trim()] = pair[(eq + 1)..].Trim();
            }
            var options = new ImagePatchOptions
            {
                KernelParameters = result.GetValue(add) ?? [],
                RemoveKernelParameters = result.GetValue(remove) ?? [],
                WaagentSettings = settings,
                Deprovision = result.GetValue(deprovision),
                DeprovisionUser = result.GetValue(user),
            };
            var patched = ImagePatcher.Patch(result.GetValue(image)!, result.GetValue(journal)!, options);
            foreach (string action in patched.Actions)
            {
                writer.Info("linuximage: " + action);
            }
            writer.Report(patched.Diagnostics);
            writer.Info($"linuximage: patch applied: {patched.Applied.RangesChanged} ranges changed, {Size.Format(patched.Applied.BytesWritten)} written, {Size.Format(patched.Applied.BytesRestored)} restored");
            return 0;
        }));
        return command;
    }
}
