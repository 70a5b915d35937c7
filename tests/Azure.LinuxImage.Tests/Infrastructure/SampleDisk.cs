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

    private static string Make() => MakeSamples("make-sample-disk.sh", "debian-minimal.vhd")[0];

    private static readonly Lock ScriptLock = new();

    /// <summary>
    /// The samples/disks files a script makes, made by running it when one is missing. One script at
    /// a time: test classes run side by side, and every script may build the shared debootstrap cache.
    /// </summary>
    private static string[] MakeSamples(string script, params string[] names)
    {
        string[] disks = [.. names.Select(n => RepositoryPaths.Combine("samples", "disks", n))];
        lock (ScriptLock)
        {
            return disks.All(File.Exists) ? disks : RunScript(script, disks);
        }
    }

    private static string[] RunScript(string script, string[] disks)
    {
        var r = ExternalTool.Run("bash", [RepositoryPaths.Combine("scripts", script)], RepositoryPaths.Root, timeoutSeconds: 1800);
        if (r.ExitCode != 0 || !disks.All(File.Exists))
        {
            Assert.Fail($"scripts/{script} failed (it needs root and Debian's package mirror):\n" + r.All[^Math.Min(r.All.Length, 4000)..]);
        }
        return disks;
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
        var disks = MakeSamples("make-uefi-sample-disk.sh", "debian-uefi.vhd", "debian-uefi-nofallback.vhd", "debian-hybrid.vhd");
        return (disks[0], disks[1], disks[2]);
    }

    private static readonly Lazy<string[]> MadeRhel = new(() => MakeSamples("make-rhel-sample-disk.sh", "alma9-lvm-xfs.vhd", "rocky8-lvm-xfs-mbr.vhd"), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// The default RHEL-family layouts (scripts/make-rhel-sample-disk.sh): XFS /boot on partition 1,
    /// an LVM PV on partition 2 with an XFS root LV and a swap LV. <paramref name="name"/> is
    /// alma9-lvm-xfs.vhd (GPT, AlmaLinux 9 tree) or rocky8-lvm-xfs-mbr.vhd (MBR, Rocky Linux 8 tree).
    /// </summary>
    public static string Rhel(string name) => MadeRhel.Value.Single(p => System.IO.Path.GetFileName(p) == name);

    private static readonly Lazy<string> MadeXfs = new(() => MakeSamples("make-xfs-sample-disk.sh", "debian-xfs.vhd")[0], LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The sample's Debian 12 with XFS root and XFS /boot, bootable from BIOS (scripts/make-xfs-sample-disk.sh).</summary>
    public static string XfsPath => MadeXfs.Value;

    private static readonly Lazy<string> MadeBtrfs = new(() => MakeSamples("make-btrfs-sample-disk.sh", "debian-btrfs.vhd")[0], LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The sample's Debian 12 on a btrfs root (top-level subvolume, /boot inside), bootable from BIOS (scripts/make-btrfs-sample-disk.sh).</summary>
    public static string BtrfsPath => MadeBtrfs.Value;

    private static readonly Lazy<string> MadeSuse = new(() => MakeSamples("make-suse-sample-disk.sh", "sles15sp5-btrfs.vhd")[0], LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// SLES 15 SP5 as YaST installs it on BIOS (scripts/make-suse-sample-disk.sh): GPT with a BIOS
    /// boot partition, a btrfs root (partition 2) whose default subvolume is snapper's
    /// @/.snapshots/1/snapshot, @/var, @/home, ... mounted by fstab, a read-only snapshot 2 sharing
    /// its blocks, and a swap partition (3).
    /// </summary>
    public static string SusePath => MadeSuse.Value;
}
