using Azure.LinuxImage.Tests.FileSystems;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Sdk;

/// <summary>`dotnet build` of an image project whose guest root is btrfs: patched offline, then judged by btrfs check and the kernel.</summary>
[TestClass]
public sealed class SdkBtrfsTests
{
    [TestMethod]
    public void Btrfs_root_guest_is_patched_by_dotnet_build_and_passes_btrfs_check()
    {
        using var project = new ImageProject();
        SmallGuestDisk.CreateBtrfs(project["disk.img"]);
        project.Write("<PropertyGroup><SourceDisk>disk.img</SourceDisk></PropertyGroup>");
        var build = project.Build();
        Assert.AreEqual(0, build.ExitCode, build.Output);

        using var temp = new TempDir("sdk-btrfs");
        string root = temp["root.btrfs"];
        using (var vhd = File.OpenRead(project.ImagePath))
        using (var fs = File.Create(root))
        {
            vhd.Position = SmallGuestDisk.PartitionOffset;
            var buffer = new byte[1 << 20];
            for (int i = 0; i < SmallGuestDisk.BtrfsSizeMiB - 1; i++)
            {
                vhd.ReadExactly(buffer);
                fs.Write(buffer);
            }
        }
        BtrfsWriteTests.Check(root);
        var kernel = BtrfsTestImage.KernelView(root, string.Empty, temp);
        BtrfsTestImage.AssertSameAsKernel(root, string.Empty, temp);
        BtrfsTestImage.WithMount(root, "ro,loop", temp, m =>
        {
            // The fixture's defaults file says only "quiet": the patch step wrote this through the btrfs engine.
            StringAssert.Contains(File.ReadAllText(Path.Combine(m, "etc", "default", "grub")), "console=ttyS0");
            Assert.IsTrue(File.Exists(Path.Combine(m, "etc", "waagent.conf")) || Directory.Exists(Path.Combine(m, "etc", "cloud")), "provisioning configured");
        });
        Assert.IsTrue(kernel.ContainsKey("/etc/default/grub"));
    }
}
