using System.CommandLine;
using Azure.LinuxImage.Cli.Commands;

namespace Azure.LinuxImage.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var common = new CommonOptions();
        var root = new RootCommand("linuximage: turn Linux disk images into Azure-ready fixed VHDs.\n\n" + ExitCodes.HelpText)
        {
            InfoCommand.Create(common),
            ConvertCommand.Create(common),
            AlignCommand.Create(common),
            PatchCommand.Create(common),
            ValidateCommand.Create(common),
            PublishCommand.Create(common),
            SettingsCommand.Create(common),
        };
        var parsed = root.Parse(args);
        int code = parsed.Invoke();
        // System.CommandLine prints the parse errors (on standard error) and returns 1, which is
        // ours for rejected input: a usage error has its own code.
        return parsed.Errors.Count > 0 ? ExitCodes.Usage : code;
    }
}
