using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// Rewriting files inside their blocks and mode changes, judged by xfs_repair -n and read back
/// through xfs_db and the kernel; the changes the writer does not implement (names in node-form
/// directories) are LIMG0342 with nothing written.
/// </summary>
[TestClass]
public sealed class XfsWriteTests
{
    [TestMethod]
    [DataRow("default")]
    [DataRow("-b size=1024")]
    [DataRow("-m reflink=1,rmapbt=1")]
    [DataRow("-m crc=0")]
    public void Files_rewritten_in_place_are_clean_for_xfs_repair_and_read_back_by_xfs_db_and_the_kernel(string options)
    {
        using var image = XfsTestImage.Create("xfs-write", options == "default" ? [] : options.Split(' '));
        bool v5 = !options.Contains("crc=0", StringComparison.Ordinal);
        var label = Encoding.ASCII.GetBytes("system_u:object_r:etc_t:s0\0");
        if (v5)
        {
            XfsTestImage.WithKernelMount(image.ImagePath, readOnly: false, mount => XfsTestImage.SetXattrs(mount, [("etc/fstab", "security.selinux", label)]));
        }
        var fs = image.Open();
        fs.Clock = () => new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var fstab = "UUID=abcd / xfs defaults 0 0\n"u8.ToArray();
        var grubenv = Encoding.ASCII.GetBytes("# GRUB Environment Block\nkernelopts=root=/dev/mapper/rhel-root ro console=ttyS0,115200n8 earlyprintk=ttyS0 rootdelay=300\n" + new string('#', 1890));
        var osRelease = Array.Empty<byte>();
        ulong fstabNode = XfsReadTests.Resolve(fs, "/etc/fstab");
        fs.ReplaceContent(fstabNode, fstab);                                        // shrink
        fs.ReplaceContent(XfsReadTests.Resolve(fs, "/boot/grub/grubenv"), grubenv); // grow inside its blocks
        fs.ReplaceContent(XfsReadTests.Resolve(fs, "/etc/os-release"), osRelease);  // empty
        fs.SetMode(XfsReadTests.Resolve(fs, "/etc/ssh/sshd_config"), 0x180);
        CollectionAssert.AreEqual(fstab, fs.ReadFile(fstabNode));

        // Not implemented: refused, and the overlay is exactly as it was.
        int changes = image.Overlay!.GetChanges().Count;
        // (A directory past one leaf block, node form: changing its names is not implemented.)
        ulong nodeDir = XfsReadTests.Resolve(fs, "/dirs/node");
        string first = fs.ListDirectory(nodeDir)[0].Name;
        Assert.AreEqual("LIMG0342", Assert.ThrowsExactly<LinuxImageException>(() => fs.CreateFile(nodeDir, "new", "x"u8, 0x1A4, 0, 0)).Descriptor.Code);
        Assert.AreEqual("LIMG0342", Assert.ThrowsExactly<LinuxImageException>(() => fs.Delete(nodeDir, first)).Descriptor.Code);
        Assert.AreEqual("LIMG0342", Assert.ThrowsExactly<LinuxImageException>(() => fs.Rename(nodeDir, first, nodeDir, "renamed")).Descriptor.Code);
        Assert.AreEqual(changes, image.Overlay.GetChanges().Count);

        // The overlay's bytes into the image, then the judges.
        image.CommitAndRepair();
        StringAssert.Contains(XfsTestImage.Db(image.ImagePath, "path /etc/fstab", "inode", "print core.size"), $"core.size = {fstab.Length}");
        StringAssert.Contains(XfsTestImage.Db(image.ImagePath, "path /etc/ssh/sshd_config", "inode", "print core.mode"), "core.mode = 0100600");
        StringAssert.Contains(XfsTestImage.Db(image.ImagePath, "path /etc/os-release", "inode", "print core.size"), "core.size = 0");
        if (v5)
        {
            XfsTestImage.WithKernelMount(image.ImagePath, readOnly: true, mount =>
            {
                CollectionAssert.AreEqual(fstab, File.ReadAllBytes(mount + "/etc/fstab"));
                CollectionAssert.AreEqual(grubenv, File.ReadAllBytes(mount + "/boot/grub/grubenv"));
                Assert.AreEqual(0, File.ReadAllBytes(mount + "/etc/os-release").Length);
                if (!OperatingSystem.IsWindows())
                {
                    Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(mount + "/etc/ssh/sshd_config"));
                }
                Assert.AreEqual(new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc), File.GetLastWriteTimeUtc(mount + "/etc/fstab"));
                Assert.IsTrue(XfsTestImage.KernelXattrs(mount).Contains($"/etc/fstab\tsecurity.selinux\t{Convert.ToHexString(label).ToLowerInvariant()}"));
            });
        }
        var reread = image.Open();
        CollectionAssert.AreEqual(grubenv, reread.ReadFile(XfsReadTests.Resolve(reread, "/boot/grub/grubenv")));
    }
}
