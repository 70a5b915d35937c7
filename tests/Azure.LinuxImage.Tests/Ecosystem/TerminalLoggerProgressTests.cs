using System.Text.RegularExpressions;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Ecosystem;

/// <summary>
/// What a user sees in a terminal: `dotnet build --tl:on` under a pseudo-terminal (`script`), so the
/// terminal logger runs as it does interactively, on a conversion long enough to report progress.
/// </summary>
/// <remarks>
/// The terminal logger of MSBuild 18 (the .NET 10 SDK) shows, while a task runs, one live line per
/// node: the project, the running target and a timer. Messages, even at high importance, are kept
/// until the project ends and printed under it from -v:d; tasks have no API for the live line
/// (dotnet/msbuild#6944). What the logger does draw live besides is the terminal's progress
/// indicator (OSC 9;4): the tasks set it to the step's percentage. And it ends the project's line
/// with the output named by a "Project -> path" message.
/// </remarks>
[TestClass]
public sealed partial class TerminalLoggerProgressTests
{
    private const long MiB = 1024 * 1024;

    [TestMethod]
    public void LongConversion_UnderTerminalLogger_ShowsTheStepLiveAndItsProgress()
    {
        using var project = new ImageProject();
        FullRaw(project["disk.img"], 1024 * MiB);
        project.WriteDataDisk("disk.img");

        string command = string.Join(' ',
            "env -u MSBuildExtensionsPath -u MSBuildSDKsPath -u MSBUILD_EXE_PATH -u MSBUILDTERMINALLOGGER",
            "TERM=xterm-256color DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1",
            "dotnet build", Quote(project.ProjectPath), "--tl:on -v:d -nr:false");
        var run = ExternalTool.Run("script", ["-qec", command, "/dev/null"], project.Directory, stdin: "", timeoutSeconds: 900);
        string screen = Ansi().Replace(run.StdOut, string.Empty).Replace("\r", "\n");

        Assert.AreEqual(0, run.ExitCode, screen);
        Assert.IsTrue(run.StdOut.Contains('\u001b'), "the terminal logger ran (it draws with escape sequences):\n" + screen);
        // The live node line: project, running target, timer.
        Assert.IsTrue(NodeLine().IsMatch(screen), "the live line names the conversion step:\n" + screen);
        // Progress: how far, in percent of the data, on lines that name the project.
        var progress = ProgressLine().Matches(screen);
        Assert.IsTrue(progress.Count > 0, "progress lines are shown:\n" + screen);
        StringAssert.Contains(screen, "MyImage: converting 100% (1.00 GiB of 1.00 GiB of data)");
        StringAssert.Contains(screen, "MyImage: converted ");
        // Live: the conversion's percentage on the terminal's progress indicator while the step runs,
        // rising, then taken down when the step ends.
        var live = TerminalIndicator().Matches(run.StdOut).Select(m => int.Parse(m.Groups[1].Value)).ToList();
        Assert.IsTrue(live.Count >= 2, "the terminal's progress indicator was set while converting:\n" + run.StdOut.Replace("\u001b", "ESC"));
        CollectionAssert.AreEqual(live.OrderBy(p => p).ToList(), live, "progress only rises: " + string.Join(",", live));
        Assert.AreEqual(100, live[^1]);
        StringAssert.Contains(run.StdOut, "\u001b]9;4;0;\u001b\\");
        // The project's result line ends with the image, as it does with an assembly.
        Assert.IsTrue(OutputLine().IsMatch(screen), "the image is named on the project's line:\n" + screen);
        Assert.IsTrue(File.Exists(project.ImagePath));
    }

    /// <summary>A raw disk with data in every MiB, so the conversion copies all of it.</summary>
    private static void FullRaw(string path, long size)
    {
        var block = new byte[MiB];
        new Random(4242).NextBytes(block);
        block[510] = 0x55;
        block[511] = 0xAA;
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        for (long offset = 0; offset < size; offset += MiB)
        {
            BitConverter.TryWriteBytes(block.AsSpan(4096), offset);
            stream.Write(block);
        }
    }

    private static string Quote(string path) => "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [GeneratedRegex(@"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x1b\x07]*(\x1b\\|\x07)|[=>])")]
    private static partial Regex Ansi();

    [GeneratedRegex(@"MyImage(\s+netstandard2\.0)?\s+ConvertImage \(\d+\.\ds\)")]
    private static partial Regex NodeLine();

    [GeneratedRegex(@"\x1b\]9;4;1;(\d+)\x1b\\")]
    private static partial Regex TerminalIndicator();

    [GeneratedRegex(@"MyImage(\s+netstandard2\.0)?\s+succeeded[^\n]*→ [^\n]*MyImage\.vhd")]
    private static partial Regex OutputLine();

    [GeneratedRegex(@"MyImage: converting \d+% \(")]
    private static partial Regex ProgressLine();
}
