using System.Diagnostics;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Reliability;

/// <summary>
/// `linuximage --standby`, the process the SDK runs build steps on: the response file it is given
/// runs exactly as `linuximage @file` (same output on each stream, same exit code); with the SDK's
/// token it runs one after another, marking the end of each on both streams; and end of input (the
/// build is over, or MSBuild died) ends it at once without doing anything.
/// </summary>
[TestClass]
public sealed class CliStandbyTests
{
    private const long MiB = 1024 * 1024;

    private static ExternalTool.Result RunOnStandby(string responseFile) =>
        ExternalTool.Run("dotnet", [LinuxImageTool.Assembly, "--standby"], stdin: responseFile + "\n", timeoutSeconds: 300);

    [TestMethod]
    [DataRow("info", "disk.img", DisplayName = "a result on stdout")]
    [DataRow("info", "nope.img", DisplayName = "an error diagnostic on stderr, exit code 1")]
    [DataRow("convert", "only-one-argument.img", DisplayName = "a usage error, exit code 2")]
    [DataRow("settings", "--no-such-option", DisplayName = "an unknown option")]
    public void A_response_file_runs_as_it_would_from_the_command_line(string command, string argument)
    {
        using var temp = new TempDir("standby");
        DiskFixtures.Raw(temp["disk.img"], 4 * MiB, 8192);
        string responseFile = temp["args.rsp"];
        File.WriteAllText(responseFile, $"{command}\n{(argument.StartsWith('-') ? argument : temp[argument])}\n--project\n{temp["P.imgproj"]}\n");

        var normal = LinuxImageTool.Run("@" + responseFile);
        var standby = RunOnStandby(responseFile);

        Assert.AreEqual(normal.ExitCode, standby.ExitCode, standby.All);
        Assert.AreEqual(normal.StdOut, standby.StdOut);
        Assert.AreEqual(normal.StdErr, standby.StdErr);
        Assert.AreNotEqual(string.Empty, normal.All.Trim(), "the case prints something to compare");
    }

    [TestMethod]
    public void With_a_token_commands_run_one_after_another_each_as_alone_and_each_end_marked_on_both_streams()
    {
        using var temp = new TempDir("standby");
        DiskFixtures.Raw(temp["disk.img"], 4 * MiB, 8192);
        // A result, an error, a usage error, and the first again: nothing of one command reaches the next.
        string[][] commands = [["info", temp["disk.img"]], ["info", temp["nope.img"]], ["convert", temp["one.img"]], ["info", temp["disk.img"]]];
        var alone = new List<ExternalTool.Result>();
        var input = new System.Text.StringBuilder();
        for (int i = 0; i < commands.Length; i++)
        {
            string responseFile = temp[$"args{i}.rsp"];
            File.WriteAllLines(responseFile, [.. commands[i], "--project", temp["P.imgproj"]]);
            alone.Add(LinuxImageTool.Run("@" + responseFile));
            input.Append(responseFile).Append('\n');
        }
        const string Token = "0123abcd";

        var served = ExternalTool.Run("dotnet", [LinuxImageTool.Assembly, "--standby"], stdin: input.ToString(), timeoutSeconds: 300,
            environment: new Dictionary<string, string> { ["LINUXIMAGE_STANDBY_TOKEN"] = Token });

        Assert.AreEqual(0, served.ExitCode, "end of input ends the process with 0\n" + served.All);
        CollectionAssert.AreEqual(new[] { 0, 1, 2, 0 }, alone.Select(r => r.ExitCode).ToArray(), "the cases differ in their outcome");
        Assert.AreEqual(string.Concat(alone.Select(r => $"{r.StdOut}\nlinuximage-standby-done {Token} {r.ExitCode}\n")), served.StdOut);
        Assert.AreEqual(string.Concat(alone.Select(r => $"{r.StdErr}\nlinuximage-standby-done {Token} {r.ExitCode}\n")), served.StdErr);
    }

    [TestMethod]
    [DataRow("", DisplayName = "end of input")]
    [DataRow("\n", DisplayName = "an empty line")]
    public void Nothing_to_run_exits_at_once_with_0_and_no_output(string input)
    {
        var watch = Stopwatch.StartNew();
        var result = ExternalTool.Run("dotnet", [LinuxImageTool.Assembly, "--standby"], stdin: input, timeoutSeconds: 60);

        Assert.AreEqual(0, result.ExitCode, result.All);
        Assert.AreEqual(string.Empty, result.All);
        // A process start and nothing else, even on a loaded machine.
        Assert.IsTrue(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
    }

    [TestMethod]
    public void Standby_is_not_in_the_help()
    {
        var help = LinuxImageTool.Run("--help");
        Assert.AreEqual(0, help.ExitCode, help.All);
        Assert.DoesNotContain("standby", help.StdOut);
    }
}
