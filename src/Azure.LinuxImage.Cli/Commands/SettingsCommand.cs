using System.CommandLine;
using Azure.LinuxImage.Cli.Settings;
using Azure.LinuxImage.Engine.Conversion;

namespace Azure.LinuxImage.Cli.Commands;

/// <summary>Lists the settings, or writes what the SDK package is made of from them (run when it is packed).</summary>
internal static class SettingsCommand
{
    public static Command Create(CommonOptions common)
    {
        var props = new Option<string?>("--msbuild-props") { Description = "Write the SDK's defaults (MSBuild props) to this file." };
        var targets = new Option<string?>("--msbuild-targets") { Description = "Write the SDK's per-step settings targets to this file." };
        var command = new Command("settings", "Print every setting as a Markdown table (name, default, the step it reruns, meaning), or write the SDK's files made from them.")
        {
            props, targets,
        };
        common.AddTo(command);
        command.SetAction(result => common.Run(result, writer =>
        {
            string? propsFile = result.GetValue(props);
            string? targetsFile = result.GetValue(targets);
            if (propsFile is not null)
            {
                AtomicFile.WriteAllBytes(propsFile, System.Text.Encoding.UTF8.GetBytes(SdkFiles.Props()));
            }
            if (targetsFile is not null)
            {
                AtomicFile.WriteAllBytes(targetsFile, System.Text.Encoding.UTF8.GetBytes(SdkFiles.Targets()));
            }
            if (propsFile is null && targetsFile is null)
            {
                Console.Out.Write(SdkFiles.Markdown());
            }
            return 0;
        }));
        return command;
    }
}
