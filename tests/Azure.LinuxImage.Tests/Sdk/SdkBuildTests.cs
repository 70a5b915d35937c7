using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Sdk;

/// <summary>`dotnet build` of real .imgproj files against the freshly packed SDK, judged by qemu-img.</summary>
[TestClass]
public sealed class SdkBuildTests
{
    private const long MiB = 1024 * 1024;

    [TestMethod]
    [DataRow(64 * MiB, DisplayName = "already aligned")]
    [DataRow(64 * MiB + 1, DisplayName = "1 byte over")]
    [DataRow(64 * MiB + (300 * 1024), DisplayName = "300 KiB over")]
    [DataRow(21475270656L, DisplayName = "the article's 21475270656 bytes")]
    [DataRow(400L * 1024 * MiB + 12345, DisplayName = "400 GiB virtual, sparse")]
    public void Build_RawSource_WritesFixedVhdRoundedUpToWholeMiB(long size)
    {
        using var project = new ImageProject();
        string raw = DiskFixtures.Raw(project["disk.img"], size, 4096, size / 2 / 4096 * 4096, Math.Max(512, size - 70000));
        project.WriteDataDisk("disk.img");

        var build = project.Build();

        Assert.AreEqual(0, build.ExitCode, build.Output);
        long expected = (size + MiB - 1) / MiB * MiB;
        DiskFixtures.AssertFixedVhd(project.ImagePath, expected);
        Assert.AreEqual(expected, DiskFixtures.QemuVirtualSize(project.ImagePath, "vpc"));
        DiskFixtures.AssertSameData(raw, "raw", project.ImagePath);
        Assert.IsTrue(File.Exists(project.ReportPath), "validation report written");
        // Sparse: what the output occupies follows the data, not the virtual size.
        long allocated = new FileInfo(project.ImagePath).Length;
        var du = ExternalTool.RunChecked("du", "-B1", project.ImagePath).StdOut.Split('\t')[0];
        Assert.IsTrue(long.Parse(du) < 16 * MiB, $"output occupies {du} bytes of {allocated}");
    }

    [TestMethod]
    [DataRow("dynamic")]
    [DataRow("fixed")]
    public void Build_VhdSourceFromQemu_HasIdenticalDataAndExactSize(string subformat)
    {
        using var project = new ImageProject();
        string raw = DiskFixtures.Raw(project["src.raw"], 100 * MiB + 4096, 0x100000, 0x2345000, 100 * MiB);
        string vhd = DiskFixtures.QemuConvert(raw, project["disks/src.vhd"], "vpc", "-o", $"subformat={subformat},force_size=on");
        project.WriteDataDisk("disks/src.vhd");

        var build = project.Build();

        Assert.AreEqual(0, build.ExitCode, build.Output);
        long sourceSize = DiskFixtures.QemuVirtualSize(vhd, "vpc");
        DiskFixtures.AssertFixedVhd(project.ImagePath, (sourceSize + MiB - 1) / MiB * MiB);
        DiskFixtures.AssertSameData(vhd, "vpc", project.ImagePath);
    }

    [TestMethod]
    public void SecondBuild_SkipsEveryStep_AndQuestionReportsUpToDate()
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], 20 * MiB, 8192);
        project.WriteDataDisk("disk.img");
        Assert.AreEqual(0, project.Build().ExitCode);
        var imageTime = File.GetLastWriteTimeUtc(project.ImagePath);

        var second = project.Build();

        Assert.AreEqual(0, second.ExitCode, second.Output);
        foreach (string target in new[] { "ConvertImage", "AlignImage", "PatchImage", "ValidateImage" })
        {
            StringAssert.Contains(second.Output, $"Skipping target \"{target}\" because all output files are up-to-date", target);
        }
        Assert.AreEqual(imageTime, File.GetLastWriteTimeUtc(project.ImagePath), "image untouched");
        var question = project.Run("build", project.ProjectPath, "-question", "-nr:false", "-tl:off");
        Assert.AreEqual(0, question.ExitCode, question.Output);
    }

    [TestMethod]
    public void ChangedKernelParameter_RerunsOnlyPatchAndValidate()
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], 20 * MiB, 8192);
        project.WriteDataDisk("disk.img");
        Assert.AreEqual(0, project.Build().ExitCode);

        project.WriteDataDisk("disk.img", """<ItemGroup><KernelParameter Include="net.ifnames=0" /></ItemGroup>""");
        var rebuild = project.Build();

        Assert.AreEqual(0, rebuild.ExitCode, rebuild.Output);
        StringAssert.Contains(rebuild.Output, "Skipping target \"ConvertImage\"");
        StringAssert.Contains(rebuild.Output, "Skipping target \"AlignImage\"");
        Assert.IsFalse(rebuild.Output.Contains("Skipping target \"PatchImage\"", StringComparison.Ordinal), rebuild.Output);
        Assert.IsFalse(rebuild.Output.Contains("Skipping target \"ValidateImage\"", StringComparison.Ordinal), rebuild.Output);
    }

    [TestMethod]
    public void ChangedImageSize_ResizesInPlaceWithoutConverting_AndKeepsData()
    {
        using var project = new ImageProject();
        string raw = DiskFixtures.Raw(project["disk.img"], 20 * MiB + 7, 8192, 19 * MiB);
        project.WriteDataDisk("disk.img");
        Assert.AreEqual(0, project.Build().ExitCode);

        var grown = project.Build("-p:ImageSizeMiB=64");
        Assert.AreEqual(0, grown.ExitCode, grown.Output);
        StringAssert.Contains(grown.Output, "Skipping target \"ConvertImage\"");
        DiskFixtures.AssertFixedVhd(project.ImagePath, 64 * MiB);
        DiskFixtures.AssertSameData(raw, "raw", project.ImagePath);

        var back = project.Build();
        Assert.AreEqual(0, back.ExitCode, back.Output);
        DiskFixtures.AssertFixedVhd(project.ImagePath, 21 * MiB);
        DiskFixtures.AssertSameData(raw, "raw", project.ImagePath);

        var tooSmall = project.Build("-p:ImageSizeMiB=10");
        Assert.AreNotEqual(0, tooSmall.ExitCode);
        StringAssert.Contains(tooSmall.Output, "error LIMG0150");
    }

    [TestMethod]
    public void KilledBuild_IsRedoneByTheNextBuild()
    {
        using var project = new ImageProject();
        // Enough data that the conversion is still running when the build is killed.
        string raw = project["disk.img"];
        DiskFixtures.Raw(raw, 512 * MiB);
        using (var stream = new FileStream(raw, FileMode.Open))
        {
            var random = new Random(7);
            var chunk = new byte[4 * MiB];
            for (long at = MiB; at < 500 * MiB; at += chunk.Length)
            {
                random.NextBytes(chunk);
                stream.Position = at;
                stream.Write(chunk);
            }
        }
        project.WriteDataDisk("disk.img");
        string bin = Path.GetDirectoryName(project.ImagePath)!;
        // The conversion writes in the intermediate folder; bin/ gets the image only once validated.
        string work = project["obj/Debug/linuximage"];

        var killed = project.BuildAndKill(() => Directory.Exists(work) && Directory.EnumerateFiles(work, "*.partial", new EnumerationOptions { AttributesToSkip = 0 }).Any());
        Assert.IsFalse(File.Exists(project.ImagePath), "a killed conversion leaves no image: " + killed.Output);

        var next = project.Build();

        Assert.AreEqual(0, next.ExitCode, next.Output);
        DiskFixtures.AssertFixedVhd(project.ImagePath, 512 * MiB);
        DiskFixtures.AssertSameData(raw, "raw", project.ImagePath);
        Assert.IsFalse(Directory.EnumerateFiles(bin, "*.partial", new EnumerationOptions { AttributesToSkip = 0 }).Any(), "no partial files in bin/");
        Assert.IsFalse(Directory.EnumerateFiles(work, "*.partial", new EnumerationOptions { AttributesToSkip = 0 }).Any(), "stale partial files removed");
    }

    [TestMethod]
    public void CleanRemovesOutputs_AndRebuildRedoesEverything()
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], 5 * MiB, 8192);
        project.WriteDataDisk("disk.img");
        Assert.AreEqual(0, project.Build().ExitCode);

        var rebuild = project.Build("-t:Rebuild");
        Assert.AreEqual(0, rebuild.ExitCode, rebuild.Output);
        Assert.IsFalse(rebuild.Output.Contains("Skipping target \"ConvertImage\"", StringComparison.Ordinal), "rebuild converts again");

        var clean = project.Run("clean", project.ProjectPath, "-nr:false", "-tl:off");
        Assert.AreEqual(0, clean.ExitCode, clean.Output);
        Assert.IsFalse(File.Exists(project.ImagePath));
        Assert.IsFalse(File.Exists(project.ReportPath));
        Assert.IsFalse(Directory.Exists(project["obj/Debug/linuximage"]));
    }

    [TestMethod]
    public void MissingOrUnsetSourceDisk_IsAClearError()
    {
        using var project = new ImageProject();
        project.Write("<PropertyGroup></PropertyGroup>");
        var unset = project.Build();
        Assert.AreNotEqual(0, unset.ExitCode);
        StringAssert.Contains(unset.Output, "error LIMG0001");

        project.WriteDataDisk("disks/nothere.vhdx");
        var missing = project.Build();
        Assert.AreNotEqual(0, missing.ExitCode);
        StringAssert.Contains(missing.Output, "error LIMG0002");
        StringAssert.Contains(missing.Output, "nothere.vhdx");
        Assert.IsFalse(File.Exists(project.ImagePath));
    }

    [TestMethod]
    public void OutDirAndImageName_AreHonoured()
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], 3 * MiB, 8192);
        project.WriteDataDisk("disk.img", "<PropertyGroup><ImageName>Custom</ImageName></PropertyGroup>");

        var build = project.Build("-c", "Release", "-p:OutDir=" + project["out"] + "/");

        Assert.AreEqual(0, build.ExitCode, build.Output);
        DiskFixtures.AssertFixedVhd(project["out/Custom.vhd"], 3 * MiB);
    }

    [TestMethod]
    public void PackageReferenceToTheSdk_IsAClearError()
    {
        using var project = new ImageProject();
        File.WriteAllText(project["Lib.csproj"], $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
              <ItemGroup><PackageReference Include="Azure.LinuxImage.Sdk" Version="{SdkPackage.Version}" /></ItemGroup>
            </Project>
            """);
        var build = project.Run("build", project["Lib.csproj"], "-nr:false", "-tl:off");
        Assert.AreNotEqual(0, build.ExitCode);
        StringAssert.Contains(build.Output, "error LIMG0011");
    }

    [TestMethod]
    public void ImgprojCanBeAddedToASolution()
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], 3 * MiB, 8192);
        project.WriteDataDisk("disk.img");
        Assert.AreEqual(0, project.Run("new", "sln", "-n", "Images", "--format", "sln").ExitCode);
        var add = project.Run("sln", "Images.sln", "add", project.ProjectPath);
        Assert.AreEqual(0, add.ExitCode, add.Output);
        StringAssert.Contains(File.ReadAllText(project["Images.sln"]), "MyImage.imgproj");
        var build = project.Run("build", "Images.sln", "-nr:false", "-tl:off");
        Assert.AreEqual(0, build.ExitCode, build.Output);
        Assert.IsTrue(File.Exists(project.ImagePath));
    }

    [TestMethod]
    public void DesignTimeBuild_DoesNoDiskWork()
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], 3 * MiB, 8192);
        project.WriteDataDisk("disk.img");
        Assert.AreEqual(0, project.Run("restore", project.ProjectPath).ExitCode);
        var build = project.Build("-p:DesignTimeBuild=true", "-p:BuildingProject=false", "-t:ResolveReferences;CompileDesignTime");
        Assert.AreEqual(0, build.ExitCode, build.Output);
        Assert.IsFalse(File.Exists(project.ImagePath));
    }
}
