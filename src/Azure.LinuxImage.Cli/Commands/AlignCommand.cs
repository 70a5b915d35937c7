using System.CommandLine;
using Azure.LinuxImage.Cli.Settings;
using Azure.LinuxImage.Engine.Conversion;
using Azure.LinuxImage.Engine.Settings;

namespace Azure.LinuxImage.Cli.Commands;

internal static class AlignCommand
{
    public static Command Create(CommonOptions common)
    {
        var image = new Argument<string>("image") { Description = "The fixed VHD written by convert." };
        var state = new Option<string>("--state") { Description = "The state file written by convert.", Required = true };
        var settings = new SettingOptions(SettingStep.Align);
        var command = new Command("align", "Give the fixed VHD its final whole-MiB virtual size, in place.") { image, state };
        settings.AddTo(command);
        common.AddTo(command);
        command.SetAction(result => common.Run(result, writer =>
        {
            var values = settings.Read(result, writer, result.GetValue(common.Project));
            var aligned = FixedVhdAligner.Align(result.GetValue(image)!, result.GetValue(state)!, values.Integer(SettingCatalog.ImageSizeMiB));
            writer.Info(aligned.Changed
                ? $"linuximage: resized the virtual disk from {aligned.PreviousSize} to {aligned.VirtualSize} bytes ({aligned.VirtualSize / ImageSizing.MiB} MiB)"
                : $"linuximage: the virtual disk is {aligned.VirtualSize} bytes ({aligned.VirtualSize / ImageSizing.MiB} MiB)");
            return 0;
        }));
        return command;
    }
}
