using System.CommandLine;
using Azure.LinuxImage.Cli.Output;
using Azure.LinuxImage.Cli.Settings;
using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Patching;
using Azure.LinuxImage.Engine.Settings;

namespace Azure.LinuxImage.Cli.Commands;

internal static class PatchCommand
{
    public static Command Create(CommonOptions common)
    {
        var image = new Argument<string>("image") { Description = "The fixed VHD to patch in place." };
        var journal = new Option<string>("--journal") { Description = "The patch journal (undo log) kept beside the intermediate files.", Required = true };
        var settings = new SettingOptions(SettingStep.Patch);
        var command = new Command("patch", "Patch the guest offline: kernel command line, waagent.conf, fstab swap, initramfs drivers, deprovisioning.")
        {
            image, journal,
        };
        settings.AddTo(command);
        common.AddTo(command);
        command.SetAction(result => common.Run(result, writer =>
        {
            var values = settings.Read(result, writer, result.GetValue(common.Project));
            if (values.Text(SettingCatalog.ImageKind) == "DataDisk")
            {
                writer.Info("linuximage: a data disk: no guest to patch");
                return 0;
            }
            // The guest's work can take minutes (an initramfs is rebuilt): say what is happening before it starts.
            writer.Info("linuximage: patching the guest offline (partitions, file systems, boot entries, agent, initramfs, deprovisioning)");
            var patched = ImagePatcher.Patch(result.GetValue(image)!, result.GetValue(journal)!, GuestPatchOptions.From(values));
            foreach (string action in patched.Actions)
            {
                writer.Info("linuximage: " + action);
            }
            // A choice the SDK made for the user (LIMG0550, LIMG0551) is shown like the actions, at every
            // verbosity; the LIMG0403 lines repeat the actions above for the log's detailed view.
            foreach (var choice in patched.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Info && d.Descriptor != DiagnosticCatalog.GuestPatchAction))
            {
                writer.Info($"linuximage: {choice.Code}: {choice.Message}");
            }
            writer.Report(patched.Diagnostics.Where(d => d.Severity != DiagnosticSeverity.Info || d.Descriptor == DiagnosticCatalog.GuestPatchAction));
            writer.Info($"linuximage: patch applied: {patched.Applied.RangesChanged} ranges changed, {Size.Format(patched.Applied.BytesWritten)} written, {Size.Format(patched.Applied.BytesRestored)} restored");
            return 0;
        }));
        return command;
    }
}
