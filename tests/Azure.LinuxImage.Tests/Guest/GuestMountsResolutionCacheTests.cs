using System.Text;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Tests.FileSystems;

namespace Azure.LinuxImage.Tests.Guest;

/// <summary>
/// GuestMounts remembers what each path component resolved to (a dentry cache) and drops it on any
/// change it makes. Every change here is followed by a read of the same path through the same
/// instance, including the traps: a name looked up before it existed, a renamed directory, and a
/// deleted symbolic link whose freed inode a new directory takes. The written image is then judged
/// by e2fsck -fn and debugfs.
/// </summary>
[TestClass]
public sealed class GuestMountsResolutionCacheTests
{
    [TestMethod]
    public void Every_change_is_seen_by_the_next_resolution_through_the_same_mounts()
    {
        using var image = Ext4TestImage.Create("guest-dcache", 64, ["-t", "ext4"], Ext4TestImage.PopulateDefault);
        var guest = GuestMounts.Open(image.Overlay, image.ImagePath);

        Assert.IsNull(guest.Stat("/etc/limg/a.conf"), "looked up before it exists");
        Assert.IsNull(guest.Stat("/etc/limg"));
        guest.CreateDirectory("/etc/limg");
        guest.WriteFile("/etc/limg/a.conf", "one\n"u8);
        Assert.AreEqual("one\n", Encoding.ASCII.GetString(guest.ReadFile("/etc/limg/a.conf")));

        guest.Rename("/etc/limg", "/etc/limg2");
        Assert.IsNull(guest.Stat("/etc/limg/a.conf"), "the old name is gone");
        Assert.AreEqual("one\n", Encoding.ASCII.GetString(guest.ReadFile("/etc/limg2/a.conf")));

        guest.Delete("/etc/limg2/a.conf");
        Assert.IsNull(guest.Stat("/etc/limg2/a.conf"));
        guest.WriteFile("/etc/limg2/a.conf", "two, longer\n"u8);
        Assert.AreEqual("two, longer\n", Encoding.ASCII.GetString(guest.ReadFile("/etc/limg2/a.conf")));

        guest.CreateSymlink("/etc/limg-link", "/etc/limg2");
        Assert.AreEqual("two, longer\n", Encoding.ASCII.GetString(guest.ReadFile("/etc/limg-link/a.conf")), "through the link");
        Assert.AreEqual(GuestFileKind.Symlink, guest.Stat("/etc/limg-link")!.Kind);
        guest.Delete("/etc/limg-link");
        // The link's inode is free again; the directory made next may well reuse its number.
        guest.CreateDirectory("/etc/limg-link");
        Assert.AreEqual(GuestFileKind.Directory, guest.Stat("/etc/limg-link")!.Kind);
        Assert.IsNull(guest.Stat("/etc/limg-link/a.conf"), "no longer the link to /etc/limg2");
        guest.WriteFile("/etc/limg-link/b.conf", "three\n"u8);

        // A fresh instance over the same changes resolves the same.
        var fresh = GuestMounts.Open(image.Overlay, image.ImagePath);
        foreach (string directory in new[] { "/etc/limg2", "/etc/limg-link" })
        {
            CollectionAssert.AreEqual(
                fresh.ListDirectory(directory).Select(e => $"{e.Path} {e.Kind} {e.Size}").ToList(),
                guest.ListDirectory(directory).Select(e => $"{e.Path} {e.Kind} {e.Size}").ToList(), directory);
        }

        string written = image.AssertCleanAfterChanges();
        Assert.AreEqual("two, longer\n", Encoding.ASCII.GetString(Ext4TestImage.DebugfsCat(written, "/etc/limg2/a.conf")));
        Assert.AreEqual("three\n", Encoding.ASCII.GetString(Ext4TestImage.DebugfsCat(written, "/etc/limg-link/b.conf")));
        StringAssert.Contains(Ext4TestImage.Debugfs(written, "stat /etc/limg-link"), "Type: directory");
    }
}
