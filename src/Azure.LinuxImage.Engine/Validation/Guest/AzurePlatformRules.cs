using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.Guest.Initramfs;
using Azure.LinuxImage.Engine.Guest.Patching;

namespace Azure.LinuxImage.Engine.Validation.Guest;

/// <summary>
/// Beyond the article: the drivers for the virtual functions accelerated networking hands the VM.
/// Which NIC a VM gets depends on the host it lands on, so every one of them is needed.
/// </summary>
public sealed class AcceleratedNetworkingRule : IGuestRule
{
    /// <summary>Driver, its kernel option, and the VM families that need it.</summary>
    public static readonly IReadOnlyList<(string Driver, string ConfigOption, string Families)> Drivers =
    [
        ("mlx4_en", "CONFIG_MLX4_EN", "VM sizes on hosts with Mellanox ConnectX-3 NICs (older hardware generations, e.g. Dv2/DSv2, Dv3/Ev3, Fsv2 placed on them)"),
        ("mlx5_core", "CONFIG_MLX5_CORE", "VM sizes on hosts with Mellanox ConnectX-4 Lx / ConnectX-5 NICs (e.g. Dv4/Dv5, Ev4/Ev5, Dasv5/Easv5, and HPC sizes)"),
        ("mana", "CONFIG_MICROSOFT_MANA", "VM sizes with the Microsoft Azure Network Adapter (Azure Boost: the v6 generation such as Dsv6, Dasv6, Esv6, Easv6, Fasv6, and MANA-capable hosts that earlier series move to); mana is upstream since Linux 5.13, older distribution kernels need the vendor's backport"),
    ];

    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        foreach (var kernel in context.Kernels)
        {
            var modules = context.Modules(kernel.Version);
            foreach (var (driver, option, families) in Drivers)
            {
                string? how = modules is null ? null
                    : modules.HasModule(driver) ? "module " + modules.PathOf(driver)
                    : modules.IsBuiltin(driver) || modules.ConfigOption(option) == 'y' ? "built in"
                    : null;
                yield return how is not null
                    ? RuleOutcome.Pass("azure.accelerated-networking", DiagnosticCatalog.AcceleratedNetworkingDriverMissing, $"Kernel {kernel.Version} has {driver} ({how}).", kernel.KernelPath)
                    : RuleOutcome.Fail("azure.accelerated-networking", DiagnosticCatalog.AcceleratedNetworkingDriverMissing, kernel.KernelPath, kernel.Version, driver, families);
            }
        }
    }
}

/// <summary>
/// Beyond the article: chrony on the Hyper-V PTP clock, as Microsoft's own images configure it.
/// /dev/ptp0 is not enough: on VMs with accelerated networking the NIC's clock can take that name,
/// hence the udev-made /dev/ptp_hyperv.
/// </summary>
public sealed class TimeSyncRule : IGuestRule
{
    public const string HyperVClock = "/dev/ptp_hyperv";

    private static readonly string[] ChronyBinaries = ["/usr/sbin/chronyd", "/sbin/chronyd", "/usr/bin/chronyd"];
    private static readonly string[] ChronyConfigs = ["/etc/chrony/chrony.conf", "/etc/chrony.conf"];

    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        var fs = context.FileSystem;
        if (!ChronyBinaries.Any(b => GuestFiles.IsFile(fs, b)))
        {
            string? other = GuestFiles.IsFile(fs, "/usr/sbin/ntpd") ? "ntpd"
                : GuestFiles.Exists(fs, "/lib/systemd/systemd-timesyncd") || GuestFiles.Exists(fs, "/usr/lib/systemd/systemd-timesyncd") ? "systemd-timesyncd"
                : null;
            yield return RuleOutcome.Fail("azure.time-sync", DiagnosticCatalog.TimeSyncNotHyperVClock, null, other is null
                ? "chrony is not installed, nor any other time service"
                : $"chrony is not installed ({other} keeps time and cannot read the Hyper-V PTP clock)");
            yield break;
        }
        string? main = ChronyConfigs.FirstOrDefault(p => GuestFiles.IsFile(fs, p));
        if (main is null)
        {
            yield return RuleOutcome.Fail("azure.time-sync", DiagnosticCatalog.TimeSyncNotHyperVClock, null, $"chrony is installed but has no configuration ({string.Join(", ", ChronyConfigs)})");
            yield break;
        }
        var refclocks = new List<(string File, string Device)>();
        foreach (string file in ConfigurationFiles(fs, main))
        {
            foreach (string raw in (GuestFiles.TryReadText(fs, file) ?? string.Empty).Split('\n'))
            {
                var words = Words(raw);
                if (words.Length >= 3 && words[0].Equals("refclock", StringComparison.OrdinalIgnoreCase) && words[1].Equals("PHC", StringComparison.OrdinalIgnoreCase))
                {
                    refclocks.Add((file, words[2].Split(':')[0]));
                }
            }
        }
        var hyperV = refclocks.FirstOrDefault(r => r.Device == HyperVClock);
        if (hyperV.File is null)
        {
            string found = refclocks.Count == 0 ? "no PHC reference clock" : "refclock PHC " + string.Join(", ", refclocks.Select(r => r.Device)) + " (on VM sizes with accelerated networking /dev/ptp0 can be the NIC's clock)";
            yield return RuleOutcome.Fail("azure.time-sync", DiagnosticCatalog.TimeSyncNotHyperVClock, main, $"chrony ({main}) has {found}, not {HyperVClock}");
            yield break;
        }
        string? udevRule = UdevRules.Files(fs).FirstOrDefault(f => (GuestFiles.TryReadText(fs, f) ?? string.Empty).Contains("ptp_hyperv", StringComparison.Ordinal));
        yield return udevRule is null
            ? RuleOutcome.Fail("azure.time-sync", DiagnosticCatalog.TimeSyncNotHyperVClock, hyperV.File,
                $"chrony ({hyperV.File}) reads {HyperVClock} but no udev rule creates it (systemd's 50-udev-default.rules does in current versions; otherwise add SUBSYSTEM==\"ptp\", ATTR{{clock_name}}==\"hyperv\", SYMLINK+=\"ptp_hyperv\")")
            : RuleOutcome.Pass("azure.time-sync", DiagnosticCatalog.TimeSyncNotHyperVClock, $"chrony reads the Hyper-V clock {HyperVClock} ({hyperV.File}); {udevRule} names it.", hyperV.File);
    }

    /// <summary>The main file and what it pulls in: include (a glob), confdir (*.conf, the first directory's file of a name wins).</summary>
    private static IEnumerable<string> ConfigurationFiles(IGuestFileSystem fs, string main)
    {
        yield return main;
        var seenNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (string raw in (GuestFiles.TryReadText(fs, main) ?? string.Empty).Split('\n'))
        {
            var words = Words(raw);
            if (words.Length < 2)
            {
                continue;
            }
            if (words[0].Equals("include", StringComparison.OrdinalIgnoreCase))
            {
                string directory = GuestPath.GetDirectory(words[1]);
                string pattern = GuestPath.GetFileName(words[1]);
                foreach (var entry in GuestFiles.List(fs, directory).OrderBy(e => e.Path, StringComparer.Ordinal))
                {
                    if (GuestFiles.NameMatches(GuestPath.GetFileName(entry.Path), pattern))
                    {
                        yield return directory.TrimEnd('/') + "/" + GuestPath.GetFileName(entry.Path);
                    }
                }
            }
            else if (words[0].Equals("confdir", StringComparison.OrdinalIgnoreCase))
            {
                foreach (string directory in words.Skip(1))
                {
                    foreach (var entry in GuestFiles.List(fs, directory).OrderBy(e => e.Path, StringComparer.Ordinal))
                    {
                        string name = GuestPath.GetFileName(entry.Path);
                        if (name.EndsWith(".conf", StringComparison.Ordinal) && seenNames.Add(name))
                        {
                            yield return directory.TrimEnd('/') + "/" + name;
                        }
                    }
                }
            }
        }
    }

    /// <summary>chrony.conf(5): a line starting with !, ;, # or % is a comment.</summary>
    private static string[] Words(string line)
    {
        string trimmed = line.Trim();
        return trimmed.Length == 0 || "!;#%".Contains(trimmed[0], StringComparison.Ordinal) ? [] : trimmed.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
    }
}

/// <summary>Where udev reads rules from; a file in /etc overrides one of the same name in the library directories.</summary>
internal static class UdevRules
{
    public static readonly string[] Directories = ["/etc/udev/rules.d", "/usr/lib/udev/rules.d", "/lib/udev/rules.d"];

    public static IEnumerable<string> Files(IGuestFileSystem fs)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string directory in Directories)
        {
            foreach (var entry in GuestFiles.List(fs, directory))
            {
                string name = GuestPath.GetFileName(entry.Path);
                if (name.EndsWith(".rules", StringComparison.Ordinal) && seen.Add(name))
                {
                    yield return directory + "/" + name;
                }
            }
        }
    }
}

/// <summary>
/// Beyond the article: the rules that give Azure disks stable names (/dev/disk/azure/root,
/// resource, scsiN/lunM; NVMe disks need azure-vm-utils' rules), which Azure's documentation
/// tells users to put in fstab and scripts.
/// </summary>
public sealed class AzureDiskUdevRule : IGuestRule
{
    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        var fs = context.FileSystem;
        bool nvme = context.Options.Patch.AzureDiskController == AzureDiskController.NVMe;
        var rules = UdevRules.Files(fs).Select(f => (File: f, Text: GuestFiles.TryReadText(fs, f) ?? string.Empty))
            .Where(r => r.Text.Contains("disk/azure", StringComparison.Ordinal)).ToList();
        var covering = nvme ? rules.Where(r => r.Text.Contains("nvme", StringComparison.OrdinalIgnoreCase)).ToList() : rules;
        yield return covering.Count > 0
            ? RuleOutcome.Pass("azure.disk-names", DiagnosticCatalog.AzureDiskUdevRulesMissing, $"{string.Join(", ", covering.Select(r => r.File))} create /dev/disk/azure/...", covering[0].File)
            : RuleOutcome.Fail("azure.disk-names", DiagnosticCatalog.AzureDiskUdevRulesMissing, null,
                nvme ? " for NVMe disks" + (rules.Count > 0 ? $" ({string.Join(", ", rules.Select(r => r.File))} name SCSI disks only)" : string.Empty) : string.Empty,
                string.Join(", ", UdevRules.Directories));
    }
}
