using System.CommandLine;
using Azure.LinuxImage.Cli.Output;
using Azure.LinuxImage.Engine.Patching;
using Azure.LinuxImage.Engine.Validation;

namespace Azure.LinuxImage.Cli.Commands;

internal static class PatchCommand
{
    public static Command Create(CommonOptions common, GuestSettingsOptions guest)
    {
        var image = new Argument<string>("image") { Description = "The fixed VHD to patch in place." };
        var journal = new Option<string>("--journal") { Description = "The patch journal (undo log) kept beside the intermediate files.", Required = true };
        var command = new Command("patch", "Patch the guest offline: kernel command line, waagent.conf, fstab swap, initramfs drivers, deprovisioning.")
        {
            image, journal,
        };
        guest.AddTo(command);
        common.AddTo(command);
        command.SetAction(result => common.Run(result, writer =>
        {
            if (guest.ImageKind(result) == ImageKind.DataDisk)
            {
                writer.Info("linuximage: a data disk: no guest to patch");
                return 0;
            }
            // The guest's work can take minutes (an initramfs is rebuilt): say what is happening before it starts.
            writer.Info("linuximage: patching the guest offline (partitions, file systems, boot entries, agent, initramfs, deprovisioning)");
            var patched = ImagePatcher.Patch(result.GetValue(image)!, result.GetValue(journal)!, guest.Create(result));
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
