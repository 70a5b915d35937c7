using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Ecosystem;

/// <summary>
/// `dotnet new imgproj` as a user gets it: the template package is installed from the packed file into
/// a private template hive, a project is generated with the template's options, and that project is
/// built with `dotnet build` against the SDK packed in the same run.
/// </summary>
[TestClass]
public sealed class TemplatePackageTests
{
    private const long MiB = 1024 * 1024;

    [TestMethod]
    public void NewImgproj_DataDisk_BuildsAgainstThePackedSdk()
    {
        using var hive = new TempDir("hive");
        using var project = new ImageProject();
        Install(hive.Path, project.Directory);
        Directory.CreateDirectory(project["disks"]);
        string raw = DiskFixtures.Raw(project["disks/data.img"], 32 * MiB + 4096, 1 * MiB, 20 * MiB);

        var created = New(hive.Path, project.Directory, "--source-disk", "disks/data.img", "--image-kind", "DataDisk");

        Assert.AreEqual(0, created.ExitCode, created.Output);
        string text = File.ReadAllText(project.ProjectPath);
        StringAssert.Contains(text, $"<Project Sdk=\"Azure.LinuxImage.Sdk/{SdkPackage.Version}\">", "the SDK version stamped when the template was packed");
        StringAssert.Contains(text, "<SourceDisk>disks/data.img</SourceDisk>");
        StringAssert.Contains(text, "<ImageKind>DataDisk</ImageKind>");
        Assert.IsFalse(text.Contains("HyperVGeneration", StringComparison.Ordinal), "a data disk boots no VM:\n" + text);
        Assert.IsFalse(text.Contains("#if", StringComparison.Ordinal), "template conditions are processed:\n" + text);

        var build = project.Build();

        Assert.AreEqual(0, build.ExitCode, build.Output);
        DiskFixtures.AssertFixedVhd(project.ImagePath, 33 * MiB);
        DiskFixtures.AssertSameData(raw, "raw", project.ImagePath);
    }

    [TestMethod]
    [DataRow(null, "V2", DisplayName = "default generation")]
    [DataRow("V1", "V1", DisplayName = "generation 1")]
    public void NewImgproj_OsDisk_WritesHyperVGeneration(string? option, string expected)
    {
        using var hive = new TempDir("hive");
        using var project = new ImageProject();
        Install(hive.Path, project.Directory);

        var created = option is null
            ? New(hive.Path, project.Directory, "--source-disk", "disks/distro.qcow2")
            : New(hive.Path, project.Directory, "--source-disk", "disks/distro.qcow2", "--hyperv-generation", option);

        Assert.AreEqual(0, created.ExitCode, created.Output);
        string text = File.ReadAllText(project.ProjectPath);
        StringAssert.Contains(text, "<ImageKind>OsDisk</ImageKind>");
        StringAssert.Contains(text, $"<HyperVGeneration>{expected}</HyperVGeneration>");
        StringAssert.Contains(text, "<SourceDisk>disks/distro.qcow2</SourceDisk>");
        // The generated file is a project MSBuild can read (evaluation only: there is no real disk here).
        var evaluated = project.Run("msbuild", project.ProjectPath, "-nr:false", "-getProperty:HyperVGeneration", "-getProperty:ImageKind");
        Assert.AreEqual(0, evaluated.ExitCode, evaluated.Output);
        StringAssert.Contains(evaluated.Output, $"\"HyperVGeneration\": \"{expected}\"");
    }

    [TestMethod]
    public void NewImgproj_RejectsAnUnknownImageKind()
    {
        using var hive = new TempDir("hive");
        using var project = new ImageProject();
        Install(hive.Path, project.Directory);

        var created = New(hive.Path, project.Directory, "--image-kind", "Floppy");

        Assert.AreNotEqual(0, created.ExitCode, created.Output);
        Assert.IsFalse(File.Exists(project.ProjectPath));
    }

    private static void Install(string hive, string workingDirectory)
    {
        var installed = DotNet.Run(workingDirectory, "new", "install", SdkPackage.TemplatesPackageFile, "--debug:custom-hive", hive);
        Assert.AreEqual(0, installed.ExitCode, installed.Output);
        StringAssert.Contains(installed.Output, "imgproj");
    }

    private static DotNet.Result New(string hive, string directory, params string[] options) =>
        DotNet.Run(directory, ["new", "imgproj", "-n", "MyImage", "-o", directory, .. options, "--debug:custom-hive", hive]);
}
