using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.FileSystems.Fat;
using Azure.LinuxImage.Engine.Guest.Fstab;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Engine.Partitions;
using Azure.LinuxImage.Engine.Volumes.Lvm;

namespace Azure.LinuxImage.Engine.Guest;

/// <summary>
/// The guest's file tree, assembled the way its boot would: the root file system is the volume
/// holding /etc/fstab and /etc/os-release, and the file systems its fstab names (by UUID, LABEL,
/// PARTUUID, PARTLABEL or device path) are mounted at their places. Open it over a
/// <see cref="DiskOverlay"/> to change files; over a read-only disk it only reads.
/// Path errors follow the in-memory guest model (FileNotFoundException, IOException); damage and
/// unsupported structures are <see cref="LinuxImageException"/>s with LIMG03xx codes.
/// </summary>
public sealed partial class GuestMounts : IGuestFileSystem
{
    private readonly List<GuestMount> mounts;
    private readonly string source;

    private GuestMounts(string source, PartitionTable table, IReadOnlyList<GuestVolume> volumes, IReadOnlyList<LvmVolumeGroup> groups,
        GuestMount root, List<GuestMount> mounts, IReadOnlyList<FstabEntry> fstab, IReadOnlyList<Diagnostic> diagnostics)
    {
        this.source = source;
        PartitionTable = table;
        Volumes = volumes;
        VolumeGroups = groups;
        Root = root;
        this.mounts = mounts;
        Fstab = fstab;
        Diagnostics = diagnostics;
    }

    public PartitionTable PartitionTable { get; }

    public IReadOnlyList<GuestVolume> Volumes { get; }

    public IReadOnlyList<LvmVolumeGroup> VolumeGroups { get; }

    public GuestMount Root { get; }

    /// <summary>Every mounted file system, the root first.</summary>
    public IReadOnlyList<GuestMount> Mounts => mounts;

    public IReadOnlyList<FstabEntry> Fstab { get; }

    /// <summary>Warnings found while assembling the tree (e.g. an fstab entry with no matching volume).</summary>
    public IReadOnlyList<Diagnostic> Diagnostics { get; }

    /// <summary>Requirement R4: the root file system lives on an LVM logical volume.</summary>
    public bool RootOnLvm => Root.Volume.IsLvm;

    /// <summary>Requirement R14: partitions typed or formatted as swap.</summary>
    public IReadOnlyList<GuestVolume> SwapVolumes => [.. Volumes.Where(v => v.Content == GuestVolumeContent.Swap || v.Partition?.IsSwap == true)];

    public IReadOnlyList<Partition> Partitions => PartitionTable.Partitions;

    /// <summary>Sets the clock for timestamps of changed files on every mounted file system.</summary>
    public Func<DateTimeOffset> Clock
    {
        set
        {
            foreach (var m in mounts)
            {
                m.FileSystem.Clock = value;
            }
        }
    }

    public static GuestMounts Open(IReadableVolume disk, string source)
    {
        ArgumentNullException.ThrowIfNull(disk);
        var table = PartitionTableReader.Read(disk, source);
        var diagnostics = new List<Diagnostic>();
        var volumes = new List<GuestVolume>();
        var pvs = new List<LvmPhysicalVolume>();
        if (table.Scheme == PartitionScheme.None)
        {
            volumes.Add(Describe("disk", disk, null, null, source, pvs));
        }
        foreach (var p in table.Partitions)
        {
            if (p.Kind is PartitionKind.Extended or PartitionKind.Empty)
            {
                continue;
            }
            volumes.Add(Describe($"partition {p.Number}", PartitionTableReader.Open(disk, p), p, null, source, pvs));
        }
        var groups = pvs.Count == 0 ? [] : LvmVolumeGroup.Assemble(pvs, source);
        foreach (var lv in groups.SelectMany(g => g.LogicalVolumes))
        {
            volumes.Add(Describe($"{lv.VolumeGroup}/{lv.Name}", lv.Volume, null, lv, source, pvs));
        }

        GuestMount? root = null;
        // The root is the tree that holds both /etc/fstab and /etc/os-release.
        GuestMount? RootIn(GuestVolume v, IFileSystem fs)
        {
            var candidate = new GuestMount("/", v, fs, v.FstabType!);
            var probe = new GuestMounts(source, table, volumes, groups, candidate, [candidate], [], []);
            return probe.Stat("/etc/fstab") is not null && probe.Stat("/etc/os-release") is not null ? candidate : null;
        }
        var problems = new List<string>();
        var failures = new List<LinuxImageException>();
        foreach (var v in volumes.Where(v => v.FileSystemType is not null))
        {
            try
            {
                var type = v.FileSystemType!;
                var fs = type.Open(v.Volume, $"{source} ({v.Name})", "defaults");
                root = RootIn(v, fs) ?? (type.HasSubtrees
                    ? type.OtherTreeOptions(fs).Select(o => RootIn(v, type.Open(v.Volume, $"{source} ({v.Name})", o))).FirstOrDefault(m => m is not null)
                    : null);
                if (root is not null)
                {
                    break;
                }
            }
            catch (LinuxImageException e)
            {
                problems.Add($"{v.Name}: {e.Message}");
                failures.Add(e);
            }
        }
        if (root is null && failures.Count == 1)
        {
            // One file system that we refused (needs recovery, damaged, unknown feature): that is the real reason.
            throw failures[0];
        }
        if (root is null)
        {
            throw new LinuxImageException(DiagnosticCatalog.GuestRootNotFound, source, source,
                problems.Count == 0 ? $"Volumes found: {string.Join(", ", volumes.Select(v => $"{v.Name} ({v.FstabType ?? v.Content.ToString()})"))}." : string.Join("; ", problems));
        }
        var mountList = new List<GuestMount> { root };
        var assembled = new GuestMounts(source, table, volumes, groups, root, mountList, [], diagnostics);
        var fstab = FstabFile.Parse(Encoding.UTF8.GetString(assembled.ReadFile(FstabFile.DefaultPath)));
        foreach (var entry in fstab.Where(e => e.MountPoint.StartsWith('/') && e.MountPoint != "/" && (e.Type == "auto" || FileSystemTypes.ForFstabType(e.Type) is not null)))
        {
            var match = Match(entry.Spec, volumes, table);
            if (match?.FileSystemType is not IFileSystemType type || (entry.Type != "auto" && !type.FstabTypes.Contains(entry.Type, StringComparer.Ordinal)))
            {
                diagnostics.Add(Diagnostic.Create(DiagnosticCatalog.GuestMountUnresolved, source, source, entry.Spec, entry.MountPoint));
                continue;
            }
            if (match == root.Volume && !type.HasSubtrees)
            {
                continue;
            }
            // One engine instance per volume: two would each cache bitmaps and overwrite each other's
            // changes. A volume of subtrees (btrfs subvolumes: SUSE's @/home, @/root, Fedora's home)
            // gets one per fstab entry, whose options pick the tree; those instances share commits.
            var fs = (type.HasSubtrees ? null : mountList.Find(m => m.Volume == match)?.FileSystem) ?? type.Open(match.Volume, $"{source} ({match.Name})", entry.Options);
            mountList.Add(new GuestMount(Normalize(entry.MountPoint), match, fs, entry.Type == "auto" ? match.FstabType! : entry.Type));
        }
        return new GuestMounts(source, table, volumes, groups, root, mountList, fstab, diagnostics);
    }

    private static GuestVolume Describe(string name, IReadableVolume volume, Partition? partition, LvmLogicalVolume? lv, string source, List<LvmPhysicalVolume> pvs)
    {
        if (FileSystemTypes.Probe(volume) is IFileSystemType type)
        {
            var (uuid, label) = type.Identify(volume);
            return new GuestVolume(name, volume, partition, lv, GuestVolumeContent.FileSystem, uuid, label, type);
        }
        if (volume.Length >= 4096 && volume.ReadBytes(4086, 10).AsSpan().SequenceEqual("SWAPSPACE2"u8))
        {
            var header = volume.ReadBytes(1024, 1024);
            var uuid = new Guid(header.AsSpan(12, 16), bigEndian: true);
            string label = Encoding.UTF8.GetString(header.AsSpan(28, 16)).TrimEnd('\0');
            return new GuestVolume(name, volume, partition, lv, GuestVolumeContent.Swap, uuid, label);
        }
        if (lv is null && LvmPhysicalVolume.Probe(volume))
        {
            pvs.Add(LvmPhysicalVolume.Read(volume, $"{source} ({name})"));
            return new GuestVolume(name, volume, partition, lv, GuestVolumeContent.LvmPhysicalVolume, null, null);
        }
        return new GuestVolume(name, volume, partition, lv, GuestVolumeContent.Unknown, null, null);
    }

    /// <summary>Finds the volume an fstab spec names.</summary>
    public static GuestVolume? Match(string spec, IReadOnlyList<GuestVolume> volumes, PartitionTable table)
    {
        static string After(string s, string prefix) => s[prefix.Length..].Trim('"');
        if (spec.StartsWith("UUID=", StringComparison.OrdinalIgnoreCase) || spec.StartsWith("/dev/disk/by-uuid/", StringComparison.Ordinal))
        {
            string id = spec.StartsWith('/') ? After(spec, "/dev/disk/by-uuid/") : After(spec, "UUID=");
            // A FAT volume's serial (UUID=ABCD-1234) is carried in a Guid of its own form.
            return volumes.FirstOrDefault(v => v.FileSystemUuid is Guid g && FatVolumeSerial.Matches(g, id));
        }
        if (spec.StartsWith("LABEL=", StringComparison.OrdinalIgnoreCase) || spec.StartsWith("/dev/disk/by-label/", StringComparison.Ordinal))
        {
            string label = spec.StartsWith('/') ? After(spec, "/dev/disk/by-label/") : After(spec, "LABEL=");
            return volumes.FirstOrDefault(v => v.FileSystemLabel == label);
        }
        if (spec.StartsWith("PARTUUID=", StringComparison.OrdinalIgnoreCase) || spec.StartsWith("/dev/disk/by-partuuid/", StringComparison.Ordinal))
        {
            string id = spec.StartsWith('/') ? After(spec, "/dev/disk/by-partuuid/") : After(spec, "PARTUUID=");
            return volumes.FirstOrDefault(v => v.Partition?.PartUuid is string p && string.Equals(p, id, StringComparison.OrdinalIgnoreCase));
        }
        if (spec.StartsWith("PARTLABEL=", StringComparison.OrdinalIgnoreCase))
        {
            string name = After(spec, "PARTLABEL=");
            return volumes.FirstOrDefault(v => v.Partition?.Name == name);
        }
        var lv = volumes.FirstOrDefault(v => v.LogicalVolume is not null && v.LogicalVolume.DevicePaths.Contains(spec, StringComparer.Ordinal));
        if (lv is not null)
        {
            return lv;
        }
        // /dev/sda1, /dev/vda2, /dev/xvda1, /dev/hda1, /dev/nvme0n1p1, /dev/mmcblk0p1: the partition number is the trailing digits.
        if (spec.StartsWith("/dev/", StringComparison.Ordinal) && table.Scheme != PartitionScheme.None)
        {
            int end = spec.Length;
            int start = end;
            while (start > 0 && char.IsAsciiDigit(spec[start - 1]))
            {
                start--;
            }
            if (start < end && int.TryParse(spec.AsSpan(start), out int number))
            {
                return volumes.FirstOrDefault(v => v.Partition?.Number == number);
            }
        }
        return null;
    }

    private static string Normalize(string path) => "/" + string.Join('/', path.Split('/', StringSplitOptions.RemoveEmptyEntries));

}
