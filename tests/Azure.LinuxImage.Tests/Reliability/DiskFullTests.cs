using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Reliability;

/// <summary>
/// A volume that fills up during conversion: the tool and the build end (they used to hang forever
/// with the reader blocked on the writer's full channel) with LIMG0005 saying how much was needed,
/// and leave nothing behind on the full volume.
/// </summary>
[TestClass]
public sealed class DiskFullTests
{
    private const long MiB = 1024 * 1024;

    /// <summary>Data that does not compress or skip: every chunk must be written.</summary>
    private static string RandomDisk(string path, long size)
    {
        using var stream = new FileStream(path, FileMode.Create);
        var random = new Random(12);
        var chunk = new byte[4 * MiB];
        for (long at = 0; at < size; at += chunk.Length)
        {
            random.NextBytes(chunk);
            stream.Write(chunk);
        }
        return path;
    }

    private static void AssertNothingLeft(string dir)
    {
        var left = Directory.EnumerateFiles(dir, "*.vhd*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).ToList();
        Assert.IsEmpty(left, "left on the full volume: " + string.Join(", ", left));
    }

    [TestMethod]
    public void Convert_onto_a_full_volume_ends_with_LIMG0005_and_removes_what_it_wrote()
    {
        using var temp = new TempDir("full");
        string raw = RandomDisk(temp["src.raw"], 64 * MiB);
        using var tmpfs = new Tmpfs(16);

        // ExternalTool fails the test if the tool does not end (the old code never did).
        var convert = LinuxImageTool.Run("convert", raw, tmpfs["out.vhd"], "--source-format", "raw");

        Assert.AreEqual(1, convert.ExitCode, convert.All);
        StringAssert.Contains(convert.StdErr, "error LIMG0005");
        StringAssert.Contains(convert.StdErr, "no space left on device; it needs up to 64 MiB");
        Assert.DoesNotContain("LIMG0006", convert.All);
        AssertNothingLeft(tmpfs.Path);
    }

    [TestMethod]
    public void Build_with_its_output_on_a_full_volume_fails_with_LIMG0005_and_leaves_no_image()
    {
        using var project = new ImageProject();
        RandomDisk(project["disk.img"], 96 * MiB);
        project.WriteDataDisk("disk.img", "<PropertyGroup><SourceDiskFormat>raw</SourceDiskFormat></PropertyGroup>");
        using var tmpfs = new Tmpfs(40);

        var build = DotNet.Run(project.Directory, null, null, process =>
        {
            if (!process.WaitForExit(5 * 60 * 1000))
            {
                process.Kill(entireProcessTree: true);
            }
        }, ["build", project.ProjectPath, "-nr:false", "-tl:off", "-v:n",
            $"-p:OutDir={tmpfs["bin"]}/", $"-p:IntermediateOutputPath={tmpfs["obj"]}/"]);

        Assert.AreNotEqual(0, build.ExitCode, build.Output);
        StringAssert.Contains(build.Output, "error LIMG0005", "the build ended with the disk-full error, it did not hang: " + build.Output);
        StringAssert.Contains(build.Output, "no space left on device");
        Assert.DoesNotContain("LIMG0006", build.Output);
        AssertNothingLeft(tmpfs.Path);
    }
}
