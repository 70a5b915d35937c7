using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Ecosystem;

/// <summary>
/// Several images in one build: the repository's traversal sample (samples/MultiImage/dirs.proj, copied
/// as it is) over image projects in sub-folders, built with -m, as CI would.
/// </summary>
[TestClass]
public sealed class MultiImageBuildTests
{
    private const long MiB = 1024 * 1024;

    [TestMethod]
    public void TraversalBuild_WithM_BuildsEveryImage_AndEveryLineNamesItsProject()
    {
        using var root = new ImageProject();
        File.Copy(RepositoryPaths.Combine("samples", "MultiImage", "dirs.proj"), root["dirs.proj"]);
        string[] names = ["ImageA", "ImageB", "ImageC"];
        var raws = new Dictionary<string, string>();
        for (int i = 0; i < names.Length; i++)
        {
            string dir = Directory.CreateDirectory(root[names[i]]).FullName;
            raws[names[i]] = DiskFixtures.Raw(Path.Combine(dir, "disk.img"), (64 + (8 * i)) * MiB + 512, 1 * MiB, (40 + i) * MiB);
            File.WriteAllText(Path.Combine(dir, names[i] + ".imgproj"), """
                <Project Sdk="Azure.LinuxImage.Sdk">
                  <PropertyGroup>
                    <SourceDisk>disk.img</SourceDisk>
                    <ImageKind>DataDisk</ImageKind>
                  </PropertyGroup>
                </Project>
                """);
        }

        var build = root.Run("build", root["dirs.proj"], "-m:2", "-nr:false", "-tl:off", "-v:m");

        Assert.AreEqual(0, build.ExitCode, build.Output);
        for (int i = 0; i < names.Length; i++)
        {
            string image = root[Path.Combine(names[i], "bin", "Debug", names[i] + ".vhd")];
            DiskFixtures.AssertFixedVhd(image, (65 + (8 * i)) * MiB);
            DiskFixtures.AssertSameData(raws[names[i]], "raw", image);
        }
        // Every line the pipeline prints at minimal verbosity says which image it is about.
        var pipelineLines = build.Output.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Contains("convert", StringComparison.Ordinal) || l.Contains("aligned", StringComparison.Ordinal) || l.Contains("checks passed", StringComparison.Ordinal) || l.Contains("linuximage", StringComparison.Ordinal))
            .ToList();
        Assert.IsTrue(pipelineLines.Count >= names.Length * 2, "progress and summary lines are printed:\n" + build.Output);
        foreach (string line in pipelineLines)
        {
            Assert.IsTrue(names.Any(n => line.StartsWith(n + ": ", StringComparison.Ordinal)), $"'{line}' names its project:\n{build.Output}");
        }
        foreach (string name in names)
        {
            StringAssert.Contains(build.Output, name + ": converting 100%");
            StringAssert.Contains(build.Output, name + ": converted ");
        }
    }

    [TestMethod]
    public void SampleImageProjects_AreFoundByTheTraversal()
    {
        var listed = DotNet.Run(RepositoryPaths.Combine("samples", "MultiImage"), "msbuild", "dirs.proj", "-nr:false", "-getItem:ProjectReference");

        Assert.AreEqual(0, listed.ExitCode, listed.Output);
        StringAssert.Contains(listed.Output, "DebianGen1.imgproj");
        StringAssert.Contains(listed.Output, "DebianGen2.imgproj");
    }
}
