using Azure.LinuxImage.Engine.FileSystems.Ext4;

namespace Azure.LinuxImage.Tests.FileSystems;

[TestClass]
public sealed class Ext4SmokeTests
{
    [TestMethod]
    public void Reads_and_replaces_a_file_and_e2fsck_is_clean()
    {
        using var img = Ext4TestImage.Create("smoke", 16, ["-t", "ext4"]);
        var fs = img.FileSystem;
        var root = fs.ReadInode(Ext4FileSystem.RootInode);
        uint etc = fs.Lookup(root, "etc");
        uint fstab = fs.Lookup(fs.ReadInode(etc), "fstab");
        Assert.AreEqual("UUID=1234 / ext4 defaults 0 1\n", System.Text.Encoding.UTF8.GetString(fs.ReadData(fs.ReadInode(fstab))));
        fs.ReplaceContent(fstab, "new content\n"u8);
        uint f = fs.CreateFile(etc, "newfile", "hello"u8, 0x1A4);
        fs.CreateDirectory(etc, "newdir", 0x1ED);
        fs.CreateSymlink(etc, "newlink", "/etc/newfile");
        fs.Delete(etc, "os-release");
        fs.Rename(etc, "newfile", etc, "renamed");
        string copy = img.AssertCleanAfterChanges();
        Assert.AreEqual("new content\n", System.Text.Encoding.UTF8.GetString(Ext4TestImage.DebugfsCat(copy, "/etc/fstab")));
        Assert.AreEqual("hello", System.Text.Encoding.UTF8.GetString(Ext4TestImage.DebugfsCat(copy, "/etc/renamed")));
        Assert.IsTrue(f > 11);
    }
}
