using System.Text.RegularExpressions;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Sdk;

/// <summary>
/// Standby processes (LinuxImageStandbyProcesses, on by default): the steps of a build run one after
/// another on one linuximage process. The build says the same as with a fresh process per step,
/// fails the same way, and leaves no process behind.
/// </summary>
[TestClass]
public sealed class SdkStandbyTests
{
    private const long MiB = 1024 * 1024;

    [TestMethod]
    public void Standbys_build_as_fresh_processes_do_and_none_outlives_the_build()
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], 20 * MiB, 8192);
        project.WriteDataDisk("disk.img");

        var on = project.Build("-v:d");
        var off = project.Build("-t:Rebuild", "-v:d", "-p:LinuxImageStandbyProcesses=false");

        Assert.AreEqual(0, on.ExitCode, on.Output);
        Assert.AreEqual(0, off.ExitCode, off.Output);
        Assert.AreEqual(4, StandbyRuns(on), "the four steps ran on a standby\n" + on.Output);
        for (int command = 2; command <= 4; command++)
        {
            StringAssert.Contains(on.Output, $"linuximage-timing: standby: command {command} of this process", "align, patch and validate on the conversion's process");
        }
        Assert.AreEqual(0, StandbyRuns(off), off.Output);
        Assert.AreNotEqual(0, Said(on).Count, "the steps' lines are compared\n" + on.Output);
        CollectionAssert.AreEqual(Said(off), Said(on), string.Join('\n', Said(on)));
        AssertNoStandbyLeft();
    }

    [TestMethod]
    public void A_step_failing_on_a_standby_fails_the_build_as_it_would_otherwise()
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], 20 * MiB, 8192);
        project.WriteDataDisk("disk.img");

        // Conversion runs in both (Rebuild), so the failing alignment runs on its process in the first.
        var on = project.Build("-t:Rebuild", "-v:d", "-p:ImageSizeMiB=10");
        var off = project.Build("-t:Rebuild", "-v:d", "-p:ImageSizeMiB=10", "-p:LinuxImageStandbyProcesses=false");

        Assert.AreNotEqual(0, on.ExitCode, on.Output);
        Assert.AreNotEqual(0, off.ExitCode, off.Output);
        Assert.AreEqual(2, StandbyRuns(on), on.Output);
        StringAssert.Contains(on.Output, "error LIMG0150");
        CollectionAssert.AreEqual(Said(off), Said(on), string.Join('\n', Said(on)));
        // The failed step ended its process: no step after it takes one.
        AssertNoStandbyLeft();
    }

    [TestMethod]
    public void The_environment_variable_turns_standbys_off()
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], 20 * MiB, 8192);
        project.WriteDataDisk("disk.img");

        var build = DotNet.Run(project.Directory, new Dictionary<string, string> { ["LINUXIMAGE_NO_STANDBY"] = "1" }, null, null,
            ["build", project.ProjectPath, "-nr:false", "-tl:off", "-v:d"]);

        Assert.AreEqual(0, build.ExitCode, build.Output);
        Assert.AreEqual(0, StandbyRuns(build), build.Output);
    }

    /// <summary>The timing note a standby adds to each step's timing lines (shown at -v:d).</summary>
    private static int StandbyRuns(DotNet.Result build) => Regex.Count(build.Output, "linuximage-timing: standby: ");

    /// <summary>What the steps said (diagnostics, results, errors), without MSBuild's prefixes and the final summary's repeats.</summary>
    private static List<string> Said(DotNet.Result build) =>
        [.. build.Output.Split('\n')
            .TakeWhile(l => !l.StartsWith("Build FAILED.", StringComparison.Ordinal) && !l.StartsWith("Build succeeded.", StringComparison.Ordinal))
            // The steps' own lines are "MyImage: ..." (timings and percentages vary from run to run).
            .Where(l => Regex.IsMatch(l, "LIMG\\d{4}|error |warning |^\\s*(\\d+(:\\d+)?>)?MyImage: (?!linuximage-timing)[^%]*$"))
            .Select(l => Regex.Replace(l.Trim(), "^\\d+(:\\d+)?>", string.Empty))];

    private static void AssertNoStandbyLeft()
    {
        string tool = SdkPackage.ToolAssembly;
        var deadline = DateTime.UtcNow.AddSeconds(1);
        List<string> left;
        do
        {
            left = [.. Directory.EnumerateDirectories("/proc").Select(CommandLine).Where(c => c.Contains(tool, StringComparison.Ordinal) && c.Contains("--standby", StringComparison.Ordinal))];
            if (left.Count == 0)
            {
                return;
            }
            Thread.Sleep(100);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Fail("standby processes left after the build: " + string.Join("; ", left));
    }

    private static string CommandLine(string procDir)
    {
        try
        {
            return File.ReadAllText(Path.Combine(procDir, "cmdline")).Replace('\0', ' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }
}
