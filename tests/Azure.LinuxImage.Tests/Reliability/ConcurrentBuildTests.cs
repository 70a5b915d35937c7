using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Reliability;

/// <summary>
/// Two builds of one project at once (Visual Studio's and a terminal's): the second waits for the
/// first or stops with LIMG0012; never do both write the image.
/// </summary>
[TestClass]
public sealed class ConcurrentBuildTests
{
    private const long MiB = 1024 * 1024;

    /// <summary>Enough random data that the first build is still converting when the second starts.</summary>
    private static string SlowDisk(ImageProject project)
    {
        string raw = project["disk.img"];
        using var stream = new FileStream(raw, FileMode.Create);
        var random = new Random(3);
        var chunk = new byte[4 * MiB];
        for (int i = 0; i < 64; i++)
        {
            random.NextBytes(chunk);
            stream.Write(chunk);
        }
        return raw;
    }

    /// <summary>
    /// Starts a build and holds it still (SIGSTOP of its process tree) once its conversion is under
    /// way: it holds the lock for as long as the test needs, however slow the machine.
    /// </summary>
    private static (Task<DotNet.Result> Build, int Pid) StartAndPauseFirstBuild(ImageProject project)
    {
        string work = project["obj/Debug/linuximage"];
        int pid = 0;
        using var started = new ManualResetEventSlim();
        var first = Task.Run(() => DotNet.Run(project.Directory, null, null, p =>
        {
            pid = p.Id;
            started.Set();
        }, ["build", project.ProjectPath, "-nr:false", "-tl:off", "-v:n"]));
        started.Wait();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!(Directory.Exists(work) && Directory.EnumerateFiles(work, "*.partial", new EnumerationOptions { AttributesToSkip = 0 }).Any()))
        {
            Assert.IsFalse(first.IsCompleted, "the first build ended before its conversion was seen: " + (first.IsCompleted ? first.Result.Output : string.Empty));
            Assert.IsLessThan(600, waited.Elapsed.TotalSeconds, "the first build never started converting");
            Thread.Sleep(10);
        }
        ProcessTree.Stop(pid);
        return (first, pid);
    }

    [TestMethod]
    public void A_second_build_that_will_not_wait_stops_with_LIMG0012_and_the_first_is_undisturbed()
    {
        using var project = new ImageProject();
        string raw = SlowDisk(project);
        project.WriteDataDisk("disk.img", "<PropertyGroup><SourceDiskFormat>raw</SourceDiskFormat></PropertyGroup>");
        Assert.AreEqual(0, project.Run("restore", project.ProjectPath, "-nr:false", "-tl:off").ExitCode);

        var (first, pid) = StartAndPauseFirstBuild(project);
        DotNet.Result second;
        try
        {
            second = project.Build("-p:LinuxImageBuildLockTimeout=0");
        }
        finally
        {
            ProcessTree.Continue(pid);
        }
        var firstResult = first.Result;

        Assert.AreNotEqual(0, second.ExitCode, second.Output);
        StringAssert.Contains(second.Output, "error LIMG0012");
        Assert.DoesNotContain("ConvertImage:", second.Output, "the second build wrote nothing");
        Assert.AreEqual(0, firstResult.ExitCode, firstResult.Output);
        DiskFixtures.AssertSameData(raw, "raw", project.ImagePath);
    }

    [TestMethod]
    public void A_second_build_waits_for_the_first_then_finds_nothing_to_do()
    {
        using var project = new ImageProject();
        string raw = SlowDisk(project);
        project.WriteDataDisk("disk.img", "<PropertyGroup><SourceDiskFormat>raw</SourceDiskFormat></PropertyGroup>");
        Assert.AreEqual(0, project.Run("restore", project.ProjectPath, "-nr:false", "-tl:off").ExitCode);

        var (first, pid) = StartAndPauseFirstBuild(project);
        bool resumed = false;
        DotNet.Result second;
        try
        {
            // The first build resumes only once the second says it waits: the second cannot have run beside it.
            second = DotNet.Run(project.Directory, null, line =>
            {
                if (!resumed && line.Contains("waiting for another build of this project", StringComparison.Ordinal))
                {
                    resumed = true;
                    ProcessTree.Continue(pid);
                }
                return false;
            }, null, ["build", project.ProjectPath, "-nr:false", "-tl:off", "-v:n"]);
        }
        finally
        {
            ProcessTree.Continue(pid);
        }
        var firstResult = first.Result;

        Assert.IsTrue(resumed, "the second build never said it was waiting: " + second.Output);
        Assert.AreEqual(0, firstResult.ExitCode, firstResult.Output);
        Assert.AreEqual(0, second.ExitCode, second.Output);
        StringAssert.Contains(second.Output, "Skipping target \"ConvertImage\"", "the second build ran after the first, not beside it");
        DiskFixtures.AssertSameData(raw, "raw", project.ImagePath);
    }
}
