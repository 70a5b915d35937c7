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
    /// Set by the SDK on a standby it may hand several steps: after each command the standby prints
    /// <see cref="DoneMarker"/>, this token and the exit code on both streams, then waits for the
    /// next one. The token keeps a line of a command's own output (a guest file name can hold
    /// anything) from passing for the marker. The SDK's StandbyTool holds the other end of this
    /// protocol (the tasks assembly references nothing of ours, so it spells both names again).
    /// </summary>
    internal const string ServeTokenVariable = "LINUXIMAGE_STANDBY_TOKEN";

    internal const string DoneMarker = "linuximage-standby-done ";

    /// <summary>
    /// The SDK starts a build step's process ahead of the step and keeps it for the steps after,
    /// so that a step waits for neither a runtime start nor the compilation and type loading of
    /// the code the steps share (about 0.1 s to 0.3 s a step). Here that process gets ready, then
    /// reads lines: each the path of a response file, run as <c>linuximage @path</c> would run it.
    /// End of input (the build ended, or MSBuild died and its pipe closed) or an empty line exits.
    /// Without <see cref="ServeTokenVariable"/> it runs one command and exits with its code.
    /// </summary>
    internal static int Standby(Stream input)
    {
        long started = Stopwatch.GetTimestamp();
        var root = CreateRoot();
        // What a command needs first: the engine assembly loaded and the parser's code run once.
        RuntimeHelpers.RunClassConstructor(typeof(StepTimings).TypeHandle);
        root.Parse([]);
        long ready = Stopwatch.GetTimestamp();
        string? token = Environment.GetEnvironmentVariable(ServeTokenVariable);
        // UTF-8 whatever the console's code page: the SDK writes the path so.
        using var reader = new StreamReader(input, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        for (int served = 0; ; served++)
        {
            long waiting = Stopwatch.GetTimestamp();
            string? path = reader.ReadLine();
            if (string.IsNullOrEmpty(path))
            {
                return ExitCodes.Success;
            }
            CommandRun.Begin(servesMore: !string.IsNullOrEmpty(token));
            StepTimings.Note(served == 0
                ? FormattableString.Invariant($"standby: ready in {Stopwatch.GetElapsedTime(started, ready).TotalMilliseconds:F0} ms, then waited {Stopwatch.GetElapsedTime(ready).TotalMilliseconds:F0} ms for its command")
                : FormattableString.Invariant($"standby: command {served + 1} of this process, waited {Stopwatch.GetElapsedTime(waiting).TotalMilliseconds:F0} ms for it"));
            int code = Run(root, ["@" + path]);
            if (string.IsNullOrEmpty(token))
            {
                return code;
            }
            // On a line of its own even after output without a final newline.
            string done = FormattableString.Invariant($"\n{DoneMarker}{token} {code}");
            Console.Out.WriteLine(done);
            Console.Out.Flush();
            Console.Error.WriteLine(done);
            Console.Error.Flush();
            // The step's garbage goes before the next step, as if its process had ended.
            CommandRun.End();
        }
    }
}
