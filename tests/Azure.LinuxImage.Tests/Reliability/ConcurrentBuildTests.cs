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
        for (int i = 0; i < 96; i++)
        {
            random.NextBytes(chunk);
            stream.Write(chunk);
        }
        return raw;
    }

    /// <summary>Starts a build and returns once its conversion is under way (its partial image exists).</summary>
    private static Task<DotNet.Result> StartFirstBuild(ImageProject project)
    {
        string work = project["obj/Debug/linuximage"];
        var first = Task.Run(() => project.Build());
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!(Directory.Exists(work) && Directory.EnumerateFiles(work, "*.partial", new EnumerationOptions { AttributesToSkip = 0 }).Any()))
        {
            Assert.IsFalse(first.IsCompleted, "the first build ended before its conversion was seen: " + (first.IsCompleted ? first.Result.Output : string.Empty));
            Assert.IsLessThan(300, waited.Elapsed.TotalSeconds, "the first build never started converting");
            Thread.Sleep(20);
        }
        return first;
    }

    [TestMethod]
    public void A_second_build_that_will_not_wait_stops_with_LIMG0012_and_the_first_is_undisturbed()
    {
        using var project = new ImageProject();
        string raw = SlowDisk(project);
        project.WriteDataDisk("disk.img", "<PropertyGroup><SourceDiskFormat>raw</SourceDiskFormat></PropertyGroup>");
        Assert.AreEqual(0, project.Run("restore", project.ProjectPath, "-nr:false", "-tl:off").ExitCode);

        var first = StartFirstBuild(project);
        var second = project.Build("-p:LinuxImageBuildLockTimeout=0");
        var firstResult = first.Result;

        Assert.AreNotEqual(0, second.ExitCode, second.Output);
        StringAssert.Contains(second.Output, "error LIMG0012");
        Assert.DoesNotContain("Task \"ConvertLinuxImage\"", second.Output, "the second build wrote nothing");
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

        var first = StartFirstBuild(project);
        var second = project.Build();
        var firstResult = first.Result;

        Assert.AreEqual(0, firstResult.ExitCode, firstResult.Output);
        Assert.AreEqual(0, second.ExitCode, second.Output);
        StringAssert.Contains(second.Output, "waiting for another build of this project");
        StringAssert.Contains(second.Output, "Skipping target \"ConvertImage\"", "the second build ran after the first, not beside it");
        DiskFixtures.AssertSameData(raw, "raw", project.ImagePath);
    }
}
