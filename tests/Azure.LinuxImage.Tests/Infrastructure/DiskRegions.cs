using System.Text.Json;

namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>
/// Regions of a whole-disk image (raw, or a fixed VHD, whose data starts at 0) as the real tools
/// see them — partitions by sfdisk, logical volumes by the LVM tools — each opened as a read-only
/// loop device for a judge (xfs_repair -n, a read-only kernel mount). Tests only, as root; nothing
/// stays attached or mounted.
/// </summary>
public static class DiskRegions
{
    public readonly record struct Region(long Offset, long Size);

    public static Region Partition(string image, int number)
    {
        using var json = JsonDocument.Parse(ExternalTool.RunChecked("sfdisk", "-J", image).StdOut);
        var table = json.RootElement.GetProperty("partitiontable");
        long sector = table.TryGetProperty("sectorsize", out var s) ? s.GetInt64() : 512;
        foreach (var p in table.GetProperty("partitions").EnumerateArray())
        {
            string node = p.GetProperty("node").GetString()!;
            if (node.EndsWith(number.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                && !char.IsAsciiDigit(node[^(number.ToString(System.Globalization.CultureInfo.InvariantCulture).Length + 1)]))
            {
                return new Region(p.GetProperty("start").GetInt64() * sector, p.GetProperty("size").GetInt64() * sector);
            }
        }
        Assert.Fail($"sfdisk finds no partition {number} in {image}");
        return default;
    }

    /// <summary>Where the LVM tools place a linear logical volume of the physical volume in <paramref name="pv"/>.</summary>
    public static Region LogicalVolume(string image, Region pv, string volumeGroup, string name) => OnLoop(image, pv, device =>
    {
        string[] Lvm(params string[] args) =>
            ExternalTool.RunChecked("lvm", [.. args, "--driverloaded", "n", "--noheadings", "--units", "b", "--nosuffix",
                "--config", $"devices {{ filter=[\"a|^{device}$|\",\"r|.*|\"] obtain_device_list_from_udev=0 }} backup {{ backup=0 archive=0 }}"])
                .StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        long peStart = long.Parse(Lvm("pvs", "-o", "pe_start", device).Single(), System.Globalization.CultureInfo.InvariantCulture);
        long extent = long.Parse(Lvm("vgs", "-o", "vg_extent_size", volumeGroup).Single(), System.Globalization.CultureInfo.InvariantCulture);
        string ranges = Lvm("lvs", "-o", "seg_pe_ranges", $"{volumeGroup}/{name}").Single();
        // One linear segment: DEVICE:FIRST-LAST.
        var (first, last) = (ranges[(ranges.LastIndexOf(':') + 1)..].Split('-')[0], ranges.Split('-')[^1]);
        long a = long.Parse(first, System.Globalization.CultureInfo.InvariantCulture);
        long b = long.Parse(last, System.Globalization.CultureInfo.InvariantCulture);
        return new Region(pv.Offset + peStart + (a * extent), (b - a + 1) * extent);
    });

    /// <summary>Runs <paramref name="use"/> on a read-only loop device over the region.</summary>
    public static T OnLoop<T>(string image, Region region, Func<string, T> use)
    {
        string device = ExternalTool.RunChecked("losetup", "-f", "--show", "-r", "-o", region.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--sizelimit", region.Size.ToString(System.Globalization.CultureInfo.InvariantCulture), image).StdOut.Trim();
        try
        {
            return use(device);
        }
        finally
        {
            ExternalTool.Run("losetup", ["-d", device]);
        }
    }

    /// <summary>xfs_repair -n (no modify) on the XFS file system in the region: exit 0 when it is clean.</summary>
    public static ExternalTool.Result XfsRepairCheck(string image, Region region) =>
        OnLoop(image, region, device => ExternalTool.Run("xfs_repair", ["-n", device]));

    /// <summary>btrfs check --readonly, data checksums included, on the btrfs file system in the region: exit 0 when it is clean.</summary>
    public static ExternalTool.Result BtrfsCheck(string image, Region region) =>
        OnLoop(image, region, device => ExternalTool.Run("btrfs", ["check", "--readonly", "--check-data-csum", device]));

    /// <summary>Runs <paramref name="read"/> on a read-only kernel mount of the region (XFS: nouuid, other tests may mount a copy).</summary>
    public static T Mounted<T>(string image, Region region, Func<string, T> read, string options = "ro") => OnLoop(image, region, device =>
    {
        string mountPoint = Path.Combine(Path.GetTempPath(), "limg-mnt-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(mountPoint);
        try
        {
            ExternalTool.RunChecked("mount", "-o", options, device, mountPoint);
            try
            {
                return read(mountPoint);
            }
            finally
            {
                ExternalTool.RunChecked("umount", mountPoint);
            }
        }
        finally
        {
            Directory.Delete(mountPoint);
        }
    });
}
