using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Volumes.Lvm;

/// <summary>A logical volume mapped onto its physical volumes; <see cref="Volume"/> is writable when they are.</summary>
public sealed record LvmLogicalVolume(string VolumeGroup, string Name, string Uuid, IReadableVolume Volume)
{
    /// <summary>The device-mapper names fstab may use: /dev/mapper/vg-lv (dashes doubled) and /dev/vg/lv.</summary>
    public IEnumerable<string> DevicePaths =>
        [$"/dev/mapper/{VolumeGroup.Replace("-", "--", StringComparison.Ordinal)}-{Name.Replace("-", "--", StringComparison.Ordinal)}", $"/dev/{VolumeGroup}/{Name}"];
}

/// <summary>A volume group read from the metadata of its physical volumes.</summary>
public sealed class LvmVolumeGroup
{
    private LvmVolumeGroup(string name, IReadOnlyList<LvmLogicalVolume> volumes)
    {
        Name = name;
        LogicalVolumes = volumes;
    }

    public string Name { get; }

    public IReadOnlyList<LvmLogicalVolume> LogicalVolumes { get; }

    /// <summary>Groups the PVs by VG and maps each group's linear LVs. A VG with a PV missing from this disk is reported.</summary>
    public static IReadOnlyList<LvmVolumeGroup> Assemble(IReadOnlyList<LvmPhysicalVolume> pvs, string source)
    {
        var result = new List<LvmVolumeGroup>();
        var byUuid = pvs.ToDictionary(p => Normalize(p.Uuid), StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pv in pvs)
        {
            var meta = LvmMetadataParser.Parse(pv.Metadata, source);
            foreach (var (vgName, value) in meta)
            {
                if (value is not Dictionary<string, object> vg || !vg.ContainsKey("physical_volumes") || !done.Add(vgName))
                {
                    continue;
                }
                result.Add(Map(vgName, vg, byUuid, source));
            }
        }
        return result;
    }

    private static string Normalize(string uuid) => uuid.Replace("-", "", StringComparison.Ordinal);

    private static LvmVolumeGroup Map(string vgName, Dictionary<string, object> vg, Dictionary<string, LvmPhysicalVolume> byUuid, string source)
    {
        long extentSectors = Number(vg, "extent_size", vgName, source);
        if (extentSectors <= 0 || extentSectors > (1L << 40))
        {
            throw new LinuxImageException(DiagnosticCatalog.LvmMetadataInvalid, source, source, $"volume group {vgName} has an invalid extent size");
        }
        long extentBytes = extentSectors * 512;
        var pvMap = new Dictionary<string, (LvmPhysicalVolume? Pv, long PeStart, long PeCount)>(StringComparer.Ordinal);
        foreach (var (pvName, value) in Section(vg, "physical_volumes", vgName, source))
        {
            if (value is not Dictionary<string, object> pvSection)
            {
                continue;
            }
            string id = pvSection.TryGetValue("id", out var idValue) && idValue is string s ? Normalize(s) : "";
            byUuid.TryGetValue(id, out var pv);
            pvMap[pvName] = (pv, Number(pvSection, "pe_start", pvName, source), Number(pvSection, "pe_count", pvName, source));
        }
        var lvs = new List<LvmLogicalVolume>();
        if (vg.TryGetValue("logical_volumes", out var lvsValue) && lvsValue is Dictionary<string, object> lvSections)
        {
            foreach (var (lvName, value) in lvSections)
            {
                if (value is not Dictionary<string, object> lv)
                {
                    continue;
                }
                var segments = new List<(long Start, long Count, IReadableVolume Volume)>();
                foreach (var (segName, segValue) in lv)
                {
                    if (!segName.StartsWith("segment", StringComparison.Ordinal) || segValue is not Dictionary<string, object> seg)
                    {
                        continue;
                    }
                    string type = seg.TryGetValue("type", out var t) && t is string ts ? ts : "";
                    long stripeCount = seg.TryGetValue("stripe_count", out var sc) && sc is long scl ? scl : 0;
                    if (type != "striped" || stripeCount != 1 || seg.GetValueOrDefault("stripes") is not List<object> { Count: 2 } stripes ||
                        stripes[0] is not string stripePv || stripes[1] is not long stripeStart)
                    {
                        throw new LinuxImageException(DiagnosticCatalog.LvmUnsupportedSegment, source, source, $"{vgName}/{lvName}", $"segment type '{type}' with {stripeCount} stripes");
                    }
                    long start = Number(seg, "start_extent", lvName, source);
                    long count = Number(seg, "extent_count", lvName, source);
                    if (!pvMap.TryGetValue(stripePv, out var pvInfo) || pvInfo.Pv is null)
                    {
                        throw new LinuxImageException(DiagnosticCatalog.LvmMetadataInvalid, source, source, $"logical volume {vgName}/{lvName} uses physical volume {stripePv}, which is not on this disk");
                    }
                    if (count <= 0 || stripeStart < 0 || stripeStart + count > pvInfo.PeCount)
                    {
                        throw new LinuxImageException(DiagnosticCatalog.LvmMetadataInvalid, source, source, $"logical volume {vgName}/{lvName} has a segment outside its physical volume");
                    }
                    long offset = checked((pvInfo.PeStart * 512) + (stripeStart * extentBytes));
                    long length = checked(count * extentBytes);
                    if (offset < 0 || offset > pvInfo.Pv.Volume.Length - length)
                    {
                        throw new LinuxImageException(DiagnosticCatalog.LvmMetadataInvalid, source, source, $"logical volume {vgName}/{lvName} extends past its physical volume");
                    }
                    segments.Add((start, count, new VolumeSlice(pvInfo.Pv.Volume, offset, length)));
                }
                segments.Sort((a, b) => a.Start.CompareTo(b.Start));
                long expected = 0;
                foreach (var s in segments)
                {
                    if (s.Start != expected)
                    {
                        throw new LinuxImageException(DiagnosticCatalog.LvmMetadataInvalid, source, source, $"logical volume {vgName}/{lvName} has a gap or overlap at extent {expected}");
                    }
                    expected += s.Count;
                }
                if (segments.Count == 0)
                {
                    continue;
                }
                string uuid = lv.TryGetValue("id", out var lid) && lid is string ls ? ls : "";
                lvs.Add(new LvmLogicalVolume(vgName, lvName, uuid, segments.Count == 1 ? segments[0].Volume : new ConcatenatedVolume([.. segments.Select(s => s.Volume)])));
            }
        }
        return new LvmVolumeGroup(vgName, lvs);
    }

    private static Dictionary<string, object> Section(Dictionary<string, object> parent, string key, string owner, string source) =>
        parent.TryGetValue(key, out var v) && v is Dictionary<string, object> d ? d
        : throw new LinuxImageException(DiagnosticCatalog.LvmMetadataInvalid, source, source, $"'{owner}' has no '{key}' section");

    private static long Number(Dictionary<string, object> section, string key, string owner, string source) =>
        section.TryGetValue(key, out var v) && v is long l ? l
        : throw new LinuxImageException(DiagnosticCatalog.LvmMetadataInvalid, source, source, $"'{owner}' has no number '{key}'");
}
