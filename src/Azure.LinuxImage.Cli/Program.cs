using System.CommandLine;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Azure.LinuxImage.Cli.Commands;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Cli;

public static class Program
{
    /// <summary>The SDK's hidden mode: see <see cref="Standby"/>. Not a command, so it stays out of --help.</summary>
    internal const string StandbySwitch = "--standby";

    public static int Main(string[] args) =>
        args is [StandbySwitch] ? Standby(Console.OpenStandardInput()) : Run(CreateRoot(), args);

    private static RootCommand CreateRoot()
    {
        var common = new CommonOptions();
        return new RootCommand("linuximage: turn Linux disk images into Azure-ready fixed VHDs.\n\n" + ExitCodes.HelpText)
        {
            InfoCommand.Create(common),
            ConvertCommand.Create(common),
            AlignCommand.Create(common),
            PatchCommand.Create(common),
            ValidateCommand.Create(common),
            PublishCommand.Create(common),
            SettingsCommand.Create(common),
        };
    }

    private static int Run(RootCommand root, string[] args)
    {
        var parsed = root.Parse(args);
        int code = parsed.Invoke();
        // System.CommandLine prints the parse errors (on standard error) and returns 1, which is
        // ours for rejected input: a usage error has its own code.
        return parsed.Errors.Count > 0 ? ExitCodes.Usage : code;
    }

    /// <summary>
    /// The SDK starts the next build step's process while the current step runs, so that the next
    /// step does not wait for a runtime start (about 0.1 s a step). Here that process gets ready,
    /// then waits for one line: the path of a response file, run as <c>linuximage @path</c> would
    /// run it. End of input (the build ended, or MSBuild died and its pipe closed) or an empty line
    /// exits without doing anything. One command per process, so each step's memory still goes
    /// when it ends.
    /// </summary>
    internal static int Standby(Stream input)
    {
        long started = Stopwatch.GetTimestamp();
        var root = CreateRoot();
        // What a command needs first: the engine assembly loaded and the parser's code run once.
        RuntimeHelpers.RunClassConstructor(typeof(StepTimings).TypeHandle);
        root.Parse([]);
        long ready = Stopwatch.GetTimestamp();
        // UTF-8 whatever the console's code page: the SDK writes the path so.
        string? path;
        using (var reader = new StreamReader(input, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
        {
            path = reader.ReadLine();
        }
        if (string.IsNullOrEmpty(path))
        {
            return ExitCodes.Success;
        }
        // The process timing line counts from the start of the process, so it includes the wait.
        StepTimings.Note(FormattableString.Invariant(
            $"standby: ready in {Stopwatch.GetElapsedTime(started, ready).TotalMilliseconds:F0} ms, then waited {Stopwatch.GetElapsedTime(ready).TotalMilliseconds:F0} ms for its command"));
        return Run(root, ["@" + path]);
    }
}
