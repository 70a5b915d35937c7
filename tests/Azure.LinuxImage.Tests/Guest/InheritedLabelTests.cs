using System.Text;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Tests.FileSystems;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Guest;

/// <summary>
/// The guest layer's label policy: what GuestMounts creates (file, directory, symbolic link, a file
/// in a directory it created) carries its parent's security.selinux; where the parent has none,
/// nothing is added. Judged on the written image by e2fsck -fn and debugfs.
/// </summary>
[TestClass]
public sealed class InheritedLabelTests
{
    private const string EtcLabel = "system_u:object_r:etc_t:s0";

    [TestMethod]
    public void Nodes_created_through_the_guest_mounts_carry_their_parents_label_and_unlabelled_parents_add_none()
    {
        using var image = Ext4TestImage.Create("guest-labels", 64, ["-t", "ext4"], root =>
        {
            Ext4TestImage.PopulateDefault(root);
            // mke2fs -d copies the tree's xattrs, as a labelled RHEL root carries them.
            BtrfsTestImage.SetXattr(Path.Combine(root, "etc"), "security.selinux", Encoding.ASCII.GetBytes(EtcLabel));
        });
        var guest = GuestMounts.Open(image.Overlay, image.ImagePath);
        guest.WriteFile("/etc/waagent.conf", "Provisioning.Agent=auto\n"u8);
        guest.CreateDirectory("/etc/dracut.conf.d");
        guest.WriteFile("/etc/dracut.conf.d/90-azure-hyperv.conf", "add_drivers+=\" hv_vmbus \"\n"u8);
        guest.CreateSymlink("/etc/limg-link", "/usr/lib/limg");
        guest.WriteFile("/var/lib/limg.state", "x"u8);

        string written = image.AssertCleanAfterChanges();
        foreach (string path in new[] { "/etc/waagent.conf", "/etc/dracut.conf.d", "/etc/limg-link" })
        {
            StringAssert.Contains(Ext4TestImage.Debugfs(written, $"ea_get {path} security.selinux"), $"security.selinux (26) = \"{EtcLabel}\"", path);
        }
        // Inherited from the directory the patch created, which inherited /etc's.
        StringAssert.Contains(Ext4TestImage.Debugfs(written, "ea_get /etc/dracut.conf.d/90-azure-hyperv.conf security.selinux"), $"\"{EtcLabel}\"");
        string bare = Ext4TestImage.Debugfs(written, "ea_list /var/lib/limg.state");
        Assert.DoesNotContain("security.selinux", bare, bare);
        Assert.DoesNotContain(" = ", bare, bare);
    }
}
