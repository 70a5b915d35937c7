using System.CommandLine;
using Azure.LinuxImage.Cli.Commands;

namespace Azure.LinuxImage.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var common = new CommonOptions();
        var root = new RootCommand("linuximage: turn Linux disk images into Azure-ready fixed VHDs.")
        {
            InfoCommand.Create(common),
            ConvertCommand.Create(common),
            AlignCommand.Create(common),
            PatchCommand.Create(common),
            ValidateCommand.Create(common),
            PublishCommand.Create(common),
            SettingsCommand.Create(common),
        };
        return root.Parse(args).Invoke();
    }
}
