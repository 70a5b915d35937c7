using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Tests.Guest;

namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>
/// A small whole-disk image with a real ext4 root (made by mke2fs from the Debian 12 guest fixture,
/// initramfs included) on an MBR partition: enough guest for the SDK to patch and validate in a
/// few seconds, unlike the sample disk.
/// </summary>
public static class SmallGuestDisk
{
    public const string RootUuid = "2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a";

    public const long PartitionOffset = 1024 * 1024;

    public const int SizeMiB = 40;

    public const int BtrfsSizeMiB = 160;

    /// <summary>GRUB's first stage, as grub-install puts it in the MBR (Debian's grub-pc-bin).</summary>
    private const string BiosBootCode = "/usr/lib/grub/i386-pc/boot.img";

    /// <summary>Writes the raw disk to <paramref name="path"/>.</summary>
    /// <param name="damage">A debugfs request run on the file system before it is placed (a hostile guest).</param>
    public static string Create(string path, string? damage = null) => Create(path, damage, btrfs: false);

    /// <summary>The same guest with its root on btrfs (mkfs.btrfs --rootdir, fstab saying btrfs), on a disk large enough for btrfs.</summary>
    public static string CreateBtrfs(string path) => Create(path, null, btrfs: true);

    private static string Create(string path, string? damage, bool btrfs)
    {
        using var temp = new TempDir("guestdisk");
        string tree = temp["root"];
        Export(GuestInitramfsFixture.Debian12(), "/", tree);
        string fs = temp["root.fs"];
        int sizeMiB = btrfs ? BtrfsSizeMiB : SizeMiB;
        if (btrfs)
        {
            string fstab = Path.Combine(tree, "etc", "fstab");
            File.WriteAllText(fstab, File.ReadAllText(fstab).Replace(" ext4 ", " btrfs ", StringComparison.Ordinal));
            using (var f = new FileStream(fs, FileMode.Create))
            {
                f.SetLength((sizeMiB - 2) * 1024L * 1024);
            }
            ExternalTool.RunChecked("mkfs.btrfs", "-q", "-f", "-U", RootUuid, "-L", "rootfs", "--rootdir", tree, fs);
        }
        else
        {
            ExternalTool.RunChecked("mke2fs", "-q", "-F", "-t", "ext4", "-U", RootUuid, "-L", "rootfs", "-E", "root_owner=0:0", "-d", tree, fs, $"{(sizeMiB - 2) * 1024}k");
        }
        if (damage is not null)
        {
            ExternalTool.RunChecked("debugfs", "-w", "-R", damage, fs);
        }
        using (var disk = new FileStream(path, FileMode.Create))
        {
            disk.SetLength(sizeMiB * 1024L * 1024);
        }
        var partition = ExternalTool.Run("sfdisk", ["--no-reread", "--no-tell-kernel", path], stdin: "label: dos\nstart=2048, type=83, bootable\n");
        Assert.AreEqual(0, partition.ExitCode, partition.All);
        Assert.IsTrue(File.Exists(BiosBootCode), $"{BiosBootCode} is missing: install Debian's grub-pc-bin (scripts/install-test-deps.sh).");
        using (var disk = new FileStream(path, FileMode.Open, FileAccess.Write))
        using (var source = File.OpenRead(fs))
        {
            // Boot code in the MBR, as an installed system has: validation detects the disk as Generation 1.
            disk.Write(File.ReadAllBytes(BiosBootCode).AsSpan(0, 440));
            disk.Position = PartitionOffset;
            source.CopyTo(disk);
        }
        return path;
    }

    /// <summary>e2fsprogs reads and writes a file system at an offset of a whole-disk image (a fixed VHD's data starts at 0).</summary>
    public static string Device(string image) => $"{image}?offset={PartitionOffset}";

    private static void Export(IGuestFileSystem guest, string path, string host)
    {
        Directory.CreateDirectory(host);
        foreach (var entry in guest.ListDirectory(path))
        {
            string target = Path.Combine(host, GuestPath.GetFileName(entry.Path));
            switch (entry.Kind)
            {
                case GuestFileKind.Directory:
                    Export(guest, entry.Path, target);
                    break;
                case GuestFileKind.Symlink:
                    File.CreateSymbolicLink(target, entry.LinkTarget!);
                    break;
                default:
                    File.WriteAllBytes(target, guest.ReadFile(entry.Path));
                    if (!OperatingSystem.IsWindows())
                    {
                        File.SetUnixFileMode(target, (UnixFileMode)(entry.Mode & 0xFFF));
                    }
                    break;
            }
        }
    }
}
