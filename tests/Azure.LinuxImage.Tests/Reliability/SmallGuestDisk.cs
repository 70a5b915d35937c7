using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Tests.Guest;
using Azure.LinuxImage.Tests.Infrastructure;
using Azure.LinuxImage.Tests.Partitions;

namespace Azure.LinuxImage.Tests.Reliability;

/// <summary>
/// A small real OS disk for whole-build tests: the Debian 12 guest of the fast guest tests (the
/// one that patches to a clean validation), written out as a tree and made into an ext4 by the real
/// mke2fs, in one MBR partition of a raw disk. Seconds to make, seconds to build.
/// </summary>
internal static class SmallGuestDisk
{
    /// <summary>The root file system's UUID, as the fixture's fstab and grub.cfg name it.</summary>
    public const string RootUuid = "2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a";

    public const long PartitionOffset = 1024 * 1024;

    /// <param name="damage">A debugfs request run on the file system before it is placed (a hostile guest).</param>
    public static string Make(string path, int sizeMiB = 48, string? damage = null)
    {
        using var temp = new TempDir("guestdisk");
        var parts = TestDisks.Partition(path, sizeMiB, "label: dos\nstart=2048, type=83\n");
        string fs = TestDisks.MakeExt4(temp, "root", parts[1].Size, RootUuid, tree => WriteTree(GuestInitramfsFixture.Debian12(), "/", tree));
        if (damage is not null)
        {
            ExternalTool.RunChecked("debugfs", "-w", "-R", damage, fs);
        }
        TestDisks.Place(path, fs, parts[1].Offset);
        return path;
    }

    private static void WriteTree(InMemoryGuestFileSystem guest, string guestDir, string hostDir)
    {
        foreach (var entry in guest.ListDirectory(guestDir))
        {
            string host = Path.Combine(hostDir, GuestPath.GetFileName(entry.Path));
            switch (entry.Kind)
            {
                case GuestFileKind.Directory:
                    Directory.CreateDirectory(host);
                    WriteTree(guest, entry.Path, host);
                    break;
                case GuestFileKind.Symlink:
                    File.CreateSymbolicLink(host, entry.LinkTarget!);
                    break;
                case GuestFileKind.File:
                    File.WriteAllBytes(host, guest.ReadFile(entry.Path));
                    break;
                default:
                    continue;
            }
            if (!OperatingSystem.IsWindows() && entry.Kind != GuestFileKind.Symlink && entry.Mode != 0)
            {
                File.SetUnixFileMode(host, (UnixFileMode)(entry.Mode & 0xFFF));
            }
        }
    }
}
