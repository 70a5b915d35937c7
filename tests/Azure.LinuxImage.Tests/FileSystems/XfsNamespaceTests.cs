using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// Creating, deleting and renaming on XFS as the guest patch step does on RHEL-family images
/// (dracut.conf.d and NetworkManager conf.d files, waagent.conf in a big /etc, deprovisioning
/// deletes, renames), across directory forms (short form growing into block and leaf form) and
/// feature sets; judged by xfs_repair -n, xfs_db and the kernel's listing of the whole tree.
/// </summary>
[TestClass]
public sealed class XfsNamespaceTests
{
    [TestMethod]
    [DynamicData(nameof(XfsAllocationTests.FixtureRows), typeof(XfsAllocationTests))]
    public void Created_deleted_and_renamed_names_are_clean_for_xfs_repair_and_match_the_kernel(string fixture)
    {
        using var image = XfsTestImage.Create("xfs-ns", XfsAllocationTests.Options(fixture));
        var fs = image.Open();
        fs.Clock = () => new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
        ulong etc = XfsReadTests.Resolve(fs, "/etc");
        ulong dracut = fs.CreateDirectory(etc, "dracut.conf.d", 0x1ED, 0, 0);
        var hyperv = "add_drivers+=\" hv_vmbus hv_netvsc hv_storvsc \"\n"u8.ToArray();
        fs.CreateFile(dracut, "azure.conf", hyperv, 0x1A4, 0, 0);
        ulong nm = fs.CreateDirectory(fs.CreateDirectory(etc, "NetworkManager", 0x1ED, 0, 0), "conf.d", 0x1ED, 0, 0);
        fs.CreateFile(nm, "99-azure-unmanaged-devices.conf", "[keyfile]\nunmanaged-devices=driver:mlx4_core;driver:mlx5_core\n"u8, 0x1A4, 0, 0);
        var waagent = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 400).Select(i => $"Setting.{i}=y\n")));
        ulong leafDir = XfsReadTests.Resolve(fs, "/dirs/leaf");
        fs.CreateFile(leafDir, "waagent.conf", waagent, 0x1A4, 0, 0);              // into a leaf directory
        fs.CreateSymlink(etc, "resolv.conf", "/run/NetworkManager/resolv.conf", 0, 0);
        fs.CreateSymlink(etc, "far", "/" + new string('y', 600) + "/end", 0, 0);   // remote target
        // A short-form directory grown into block form, then leaf form.
        ulong many = fs.CreateDirectory(fs.RootNode, "many", 0x1ED, 0, 0);
        for (int i = 0; i < 150; i++)
        {
            fs.CreateFile(many, $"file-{i:D4}-{new string('q', i % 40)}", Encoding.ASCII.GetBytes($"{i}\n"), 0x1A4, 1000, 1000);
        }
        for (int i = 0; i < 150; i += 3)
        {
            fs.Delete(many, $"file-{i:D4}-{new string('q', i % 40)}");
        }
        // Deprovisioning and renames: delete from a block directory, a rename over an existing file, a directory moved.
        ulong block = XfsReadTests.Resolve(fs, "/dirs/block");
        var blockNames = fs.ListDirectory(block).Select(e => e.Name).ToList();
        fs.Delete(block, blockNames[0]);
        fs.Delete(XfsReadTests.Resolve(fs, "/etc/ssh"), "sshd_config");
        fs.Delete(XfsReadTests.Resolve(fs, "/boot"), "initramfs.img");
        fs.Rename(block, blockNames[1], block, blockNames[2]);
        fs.Rename(etc, "fstab", etc, "fstab.new");
        fs.Rename(etc, "os-release", dracut, "moved-os-release");
        fs.Rename(XfsReadTests.Resolve(fs, "/var/lib"), "empty", nm, "empty-moved");
        ulong small = XfsReadTests.Resolve(fs, "/dirs/small");
        foreach (var e in fs.ListDirectory(small))
        {
            fs.Delete(small, e.Name);
        }
        fs.Delete(XfsReadTests.Resolve(fs, "/dirs"), "small");
        var ours = XfsTestImage.EngineListing(fs);
        var oursContent = ContentOf(fs, ours);

        image.CommitAndRepair();
        CollectionAssert.AreEqual(hyperv, XfsTestImage.DbContent(image.ImagePath, "/etc/dracut.conf.d/azure.conf"));
        CollectionAssert.AreEqual(waagent, XfsTestImage.DbContent(image.ImagePath, "/dirs/leaf/waagent.conf"));
        StringAssert.Contains(XfsTestImage.Db(image.ImagePath, "path /etc/NetworkManager/conf.d/empty-moved", "inode", "print core.mode"), "core.mode = 040755");
        if (!fixture.Contains("crc=0", StringComparison.Ordinal))
        {
            XfsTestImage.WithKernelMount(image.ImagePath, readOnly: true, mount =>
            {
                CollectionAssert.AreEqual(ours, XfsTestImage.KernelListing(mount));
                foreach (var (path, bytes) in oursContent)
                {
                    CollectionAssert.AreEqual(bytes, File.ReadAllBytes(mount + path), path);
                }
                Assert.AreEqual(new DateTime(2026, 3, 4, 5, 6, 7, DateTimeKind.Utc), File.GetLastWriteTimeUtc(mount + "/etc/dracut.conf.d/azure.conf"));
            });
        }
        var reread = image.Open();
        CollectionAssert.AreEqual(ours, XfsTestImage.EngineListing(reread));
    }

    internal static Dictionary<string, byte[]> ContentOf(IFileSystem fs, List<string> listing)
    {
        var result = new Dictionary<string, byte[]>();
        foreach (string line in listing)
        {
            var parts = line.Split('\t');
            if (parts[1] == "f")
            {
                result[parts[0]] = fs.ReadFile(XfsReadTests.Resolve(fs, parts[0]));
            }
        }
        return result;
    }
}
