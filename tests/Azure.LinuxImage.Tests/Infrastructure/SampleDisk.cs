namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>
/// The real Debian 12 disk of samples/ (kernel, initramfs, GRUB in the MBR, OpenSSH, waagent), made
/// by scripts/make-sample-disk.sh once per machine (debootstrap, as root) and shared by the tests.
/// </summary>
public static class SampleDisk
{
    private static readonly Lazy<string> Made = new(Make, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Path => Made.Value;

    /// <summary>The real root tree the disk is made from (debootstrap's, cached by make-sample-disk.sh).</summary>
    public static string RootTree
    {
        get
        {
            _ = Path;
            string cache = Environment.GetEnvironmentVariable("LIMG_SAMPLE_CACHE") ?? "/var/tmp/limg-sample-cache";
            if (!File.Exists(System.IO.Path.Combine(cache, "rootfs.complete")))
            {
                Assert.Fail($"The Debian sample root {cache}/rootfs is missing: run scripts/make-sample-disk.sh (as root) to build it.");
            }
            return System.IO.Path.Combine(cache, "rootfs");
        }
    }

    private static string Make()
    {
        string disk = RepositoryPaths.Combine("samples", "disks", "debian-minimal.vhd");
        if (File.Exists(disk))
        {
            return disk;
        }
        var r = ExternalTool.Run("bash", [RepositoryPaths.Combine("scripts", "make-sample-disk.sh")], RepositoryPaths.Root, timeoutSeconds: 1800);
        if (r.ExitCode != 0 || !File.Exists(disk))
        {
            Assert.Fail("scripts/make-sample-disk.sh failed (it needs root and Debian's package mirror):\n" + r.All[^Math.Min(r.All.Length, 4000)..]);
        }
        return disk;
    }

    private static readonly Lazy<(string WithFallback, string WithoutFallback, string Hybrid)> MadeUefi = new(MakeUefi, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The same root on a GPT disk for Generation 2: ESP with GRUB and EFI/BOOT/BOOTX64.EFI (scripts/make-uefi-sample-disk.sh).</summary>
    public static string UefiPath => MadeUefi.Value.WithFallback;

    /// <summary>The UEFI disk without the removable-media loader.</summary>
    public static string UefiWithoutFallbackPath => MadeUefi.Value.WithoutFallback;

    /// <summary>The UEFI disk with a BIOS boot partition holding GRUB's i386-pc core.img as well (Ubuntu's cloud-image layout): boots both ways.</summary>
    public static string HybridPath => MadeUefi.Value.Hybrid;

    private static (string, string, string) MakeUefi()
    {
        string[] disks = [.. new[] { "debian-uefi.vhd", "debian-uefi-nofallback.vhd", "debian-hybrid.vhd" }.Select(d => RepositoryPaths.Combine("samples", "disks", d))];
        if (disks.All(File.Exists))
        {
            return (disks[0], disks[1], disks[2]);
        }
        var r = ExternalTool.Run("bash", [RepositoryPaths.Combine("scripts", "make-uefi-sample-disk.sh")], RepositoryPaths.Root, timeoutSeconds: 1800);
        if (r.ExitCode != 0 || !disks.All(File.Exists))
        {
            Assert.Fail("scripts/make-uefi-sample-disk.sh failed (it needs root and Debian's package mirror):\n" + r.All[^Math.Min(r.All.Length, 4000)..]);
        }
        return (disks[0], disks[1], disks[2]);
    }
}
