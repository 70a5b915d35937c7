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

[TestClass]
public sealed class Ext4SparseTests
{
    [TestMethod]
    [DataRow("ext4")]
    [DataRow("ext2")]
    public void Holes_read_as_zeros_and_a_sparse_file_can_be_replaced_and_deleted(string type)
    {
        using var img = Ext4TestImage.Create("sparse-" + type, 24, ["-t", type], root =>
        {
            Ext4TestImage.PopulateDefault(root);
            using var f = new FileStream(Path.Combine(root, "sparse"), FileMode.Create);
            f.Write("head"u8);
            f.Position = 5 << 20;
            f.Write("tail"u8);
        });
        var fs = img.FileSystem;
        uint number = fs.Lookup(fs.ReadInode(Ext4FileSystem.RootInode), "sparse");
        var inode = fs.ReadInode(number);
        Assert.IsTrue(inode.BlocksRaw < 64, "fixture file is not sparse");
        byte[] data = fs.ReadData(inode);
        Assert.AreEqual((5 << 20) + 4, data.Length);
        CollectionAssert.AreEqual("head"u8.ToArray(), data[..4]);
        CollectionAssert.AreEqual("tail"u8.ToArray(), data[^4..]);
        Assert.IsTrue(data.AsSpan(4, (5 << 20) - 4).IndexOfAnyExcept((byte)0) < 0);
        fs.ReplaceContent(number, "dense now"u8);
        fs.Delete(fs.Lookup(fs.ReadInode(Ext4FileSystem.RootInode), "etc"), "fstab");
        string copy = img.AssertCleanAfterChanges();
        CollectionAssert.AreEqual("dense now"u8.ToArray(), Ext4TestImage.DebugfsCat(copy, "/sparse"));
    }
}
