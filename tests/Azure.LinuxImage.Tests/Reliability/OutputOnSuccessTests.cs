using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Reliability;

/// <summary>
/// The image appears in OutDir only when every step passed; a renamed image is cleaned up; bad input
/// found deep in the guest is a diagnostic of the layer that found it, not an internal error.
/// </summary>
[TestClass]
public sealed class OutputOnSuccessTests
{
    private const long MiB = 1024 * 1024;

    private static void AssertNoImageInBin(ImageProject project, DotNet.Result build, string code)
    {
        Assert.AreNotEqual(0, build.ExitCode, build.Output);
        StringAssert.Contains(build.Output, "error " + code, build.Output);
        string bin = Path.GetDirectoryName(project.ImagePath)!;
        var images = Directory.Exists(bin) ? Directory.GetFiles(bin, "*.vhd*", new EnumerationOptions { AttributesToSkip = 0 }) : [];
        Assert.IsEmpty(images, "a failed build left in bin/: " + string.Join(", ", images));
    }

    [TestMethod]
    public void A_step_that_fails_on_a_fresh_build_leaves_no_image_in_bin()
    {
        using var project = new ImageProject();
        // A blank disk declared as an OS disk: converted and aligned, then refused by patch.
        DiskFixtures.Raw(project["disk.img"], 16 * MiB, 8192);
        project.WriteOsDisk("disk.img");

        AssertNoImageInBin(project, project.Build(), "LIMG0330");
    }

    [TestMethod]
    public void A_later_failing_build_takes_the_earlier_good_image_out_of_bin_and_a_fixed_build_puts_it_back()
    {
        using var project = new ImageProject();
        string raw = DiskFixtures.Raw(project["disk.img"], 20 * MiB, 8192, 19 * MiB);
        project.WriteDataDisk("disk.img");
        Assert.AreEqual(0, project.Build().ExitCode);
        Assert.IsTrue(File.Exists(project.ImagePath));

        // Align fails (smaller than the source): the image of the earlier build must not stay as if it were this one's.
        AssertNoImageInBin(project, project.Build("-p:ImageSizeMiB=10"), "LIMG0150");
        // Patch fails (no guest on an OS disk).
        project.WriteOsDisk("disk.img");
        AssertNoImageInBin(project, project.Build(), "LIMG0330");

        project.WriteDataDisk("disk.img");
        var fixedBuild = project.Build();
        Assert.AreEqual(0, fixedBuild.ExitCode, fixedBuild.Output);
        StringAssert.Contains(fixedBuild.Output, "Skipping target \"ConvertImage\"", "the image was kept in obj/, not converted again");
        DiskFixtures.AssertFixedVhd(project.ImagePath, 20 * MiB);
        DiskFixtures.AssertSameData(raw, "raw", project.ImagePath);
        Assert.IsFalse(File.Exists(project["obj/Debug/linuximage/MyImage.vhd"]), "moved, not copied");

        // Nothing to do: nothing moves, and -question agrees.
        var imageTime = File.GetLastWriteTimeUtc(project.ImagePath);
        var noop = project.Build();
        Assert.AreEqual(0, noop.ExitCode, noop.Output);
        Assert.AreEqual(imageTime, File.GetLastWriteTimeUtc(project.ImagePath));
        Assert.IsFalse(File.Exists(project["obj/Debug/linuximage/MyImage.vhd"]));
        var question = project.Run("build", project.ProjectPath, "-question", "-nr:false", "-tl:off");
        Assert.AreEqual(0, question.ExitCode, question.Output);
    }

    [TestMethod]
    public void A_renamed_image_is_removed_by_the_next_build_and_by_clean()
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], 8 * MiB, 8192);
        project.WriteDataDisk("disk.img");
        string bin = Path.GetDirectoryName(project.ImagePath)!;
        Assert.AreEqual(0, project.Build().ExitCode);
        Assert.IsTrue(File.Exists(project.ImagePath));

        var renamed = project.Build("-p:ImageName=Renamed");

        Assert.AreEqual(0, renamed.ExitCode, renamed.Output);
        Assert.IsTrue(File.Exists(Path.Combine(bin, "Renamed.vhd")));
        Assert.IsFalse(File.Exists(project.ImagePath), "IncrementalClean removes the image of the old name: " + renamed.Output);
        Assert.IsFalse(File.Exists(project.ReportPath), "and its report");

        // Clean without the property: what the last build wrote is listed, whatever its name.
        var clean = project.Run("clean", project.ProjectPath, "-nr:false", "-tl:off");
        Assert.AreEqual(0, clean.ExitCode, clean.Output);
        Assert.IsFalse(File.Exists(Path.Combine(bin, "Renamed.vhd")), "dotnet clean removes the renamed image");
    }

    [TestMethod]
    public void A_guest_whose_root_inode_is_not_a_directory_is_LIMG0310_not_an_internal_error()
    {
        using var project = new ImageProject();
        SmallGuestDisk.Create(project["disk.img"], damage: "sif <2> mode 0100644");
        project.WriteOsDisk("disk.img");

        var build = project.Build();

        AssertNoImageInBin(project, build, "LIMG0310");
        StringAssert.Contains(build.Output, "the root inode (2) is not a directory");
        Assert.DoesNotContain("LIMG0006", build.Output);
        Assert.DoesNotContain("   at ", build.Output, "no stack trace");
    }

    [TestMethod]
    public void A_SourceDisk_that_names_a_folder_says_so()
    {
        using var project = new ImageProject();
        Directory.CreateDirectory(project["disks"]);
        project.WriteDataDisk("disks");

        var build = project.Build();

        Assert.AreNotEqual(0, build.ExitCode, build.Output);
        StringAssert.Contains(build.Output, "error LIMG0013");
        StringAssert.Contains(build.Output, "is a folder, not a disk image file");
        Assert.DoesNotContain("does not exist", build.Output);

        var tool = LinuxImageTool.Run("info", project["disks"]);
        Assert.AreEqual(1, tool.ExitCode, tool.All);
        StringAssert.Contains(tool.StdErr, "error LIMG0013");
    }
}
