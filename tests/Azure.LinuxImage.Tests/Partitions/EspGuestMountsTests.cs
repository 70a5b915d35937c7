using System.Text;
using Azure.LinuxImage.Engine.Disks.Raw;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.Guest.Boot;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.FileSystems;
using Azure.LinuxImage.Tests.Guest;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Partitions;

/// <summary>
/// FAT as the build writes it: an ESP made by mkfs.vfat and mtools on a GPT disk, mounted at /efi by
/// its FAT serial from the ext4 root's fstab, its systemd-boot entries patched and new files written
/// through the guest, then judged by fsck.vfat -n and read back by mtools (and the root by e2fsck).
/// </summary>
[TestClass]
public sealed class EspGuestMountsTests
{
    private const string Serial = "ABCD2026";
    private const string Entry = "/efi/loader/entries/0123456789abcdef-6.1.0-13-amd64.conf";
    private const string LoaderConf = "default 0123456789abcdef-*\ntimeout 3\n";

    private static string BuildDisk(TempDir temp)
    {
        string disk = temp["disk.img"];
        var layout = TestDisks.Partition(disk, 110, "label: gpt\nstart=2048, size=40MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nsize=64MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n");
        string fstab = $"UUID={TestDisks.RootUuid} / ext4 errors=remount-ro 0 1\nUUID={Serial[..4]}-{Serial[4..]} /efi vfat umask=0077 0 1\n";
        string root = TestDisks.MakeExt4(temp, "root", layout[2].Size, TestDisks.RootUuid, r =>
        {
            TestDisks.PopulateRoot(r, fstab);
            Directory.CreateDirectory(Path.Combine(r, "efi"));
        });

        string esp = temp["esp.img"];
        FatTestImage.Make(temp, esp, 32, (int)(layout[1].Size / 1024), new Dictionary<string, byte[]>
        {
            ["loader/loader.conf"] = Encoding.UTF8.GetBytes(LoaderConf),
            [Entry["/efi/".Length..]] = Encoding.UTF8.GetBytes("title      Debian GNU/Linux 12 (bookworm)\nversion    6.1.0-13-amd64\nmachine-id 0123456789abcdef\n" +
                "options    root=UUID=" + TestDisks.RootUuid + " ro quiet\nlinux      /0123456789abcdef/6.1.0-13-amd64/linux\n"),
            ["EFI/BOOT/BOOTX64.EFI"] = [0x4D, 0x5A, .. new byte[3000]],
        }, "-s", "1", "-i", Serial, "-n", "EFI");
        FatTestImage.AssertClean(esp);

        TestDisks.Place(disk, esp, layout[1].Offset);
        TestDisks.Place(disk, root, layout[2].Offset);
        return disk;
    }

    [TestMethod]
    public void EspMountedFromFstab_EntriesPatchedAndFilesWritten_FsckCleanAndMtoolsReadsBack()
    {
        using var temp = new TempDir("guest-esp");
        string disk = BuildDisk(temp);
        using var image = new RawDiskImage(SourceFile.Open(disk));
        var overlay = new DiskOverlay(image);
        var guest = GuestMounts.Open(overlay, disk);
        Assert.AreEqual(2, guest.Mounts.Count, string.Join("; ", guest.Diagnostics.Select(d => d.Message)));
        var esp = guest.Mounts.Single(m => m.MountPoint == "/efi");
        Assert.AreEqual("partition 1", esp.Volume.Name);

        var log = BootLoaderConfiguration.Patch(guest, EspBootLayoutTests.ArticleEdit, null);
        StringAssert.Contains(string.Join("\n", log), Entry);
        // A new long-named file of several clusters, and one in a new directory.
        var big = new byte[20_000];
        new Random(5).NextBytes(big);
        guest.WriteFile("/efi/EFI/BOOT/a long name, several clusters.bin", big);
        guest.CreateDirectory("/efi/EFI/azure");
        guest.WriteFile("/efi/EFI/azure/note.txt", "written by the build\n"u8);

        // The engine opened again over the written disk finds the same guest; its partitions go to the judges.
        string copy = OverlayCopy.Write(overlay, disk, temp);
        using var written = new RawDiskImage(SourceFile.Open(copy));
        var again = GuestMounts.Open(new DiskOverlay(written), copy);
        string espOut = TestDisks.Extract(temp, again.Mounts.Single(m => m.MountPoint == "/efi").Volume.Volume, "esp-out.img");
        string rootOut = TestDisks.Extract(temp, again.Root.Volume.Volume, "root-out.img");
        FatTestImage.AssertClean(espOut);
        var e2fsck = ExternalTool.Run("e2fsck", ["-fn", rootOut]);
        Assert.AreEqual(0, e2fsck.ExitCode, e2fsck.All);

        string entry = FatTestImage.MTypeText(espOut, Entry["/efi/".Length..]);
        StringAssert.Contains(entry, $"options    root=UUID={TestDisks.RootUuid} ro console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300\n");
        StringAssert.Contains(entry, "linux      /0123456789abcdef/6.1.0-13-amd64/linux\n");
        Assert.AreEqual(LoaderConf, FatTestImage.MTypeText(espOut, "loader/loader.conf"));
        CollectionAssert.AreEqual(big, FatTestImage.MType(espOut, "EFI/BOOT/a long name, several clusters.bin"));
        Assert.AreEqual("written by the build\n", FatTestImage.MTypeText(espOut, "EFI/azure/note.txt"));
        StringAssert.Matches(FatTestImage.MDir(espOut, "EFI/BOOT"), new System.Text.RegularExpressions.Regex(@"BOOTX64\s+EFI\s+3002 "));

        Assert.AreEqual(entry, Encoding.UTF8.GetString(again.ReadFile(Entry)));
    }
}
