using System.Text.RegularExpressions;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Guest.Distributions;

public enum DistributionFamily
{
    Debian,
    Rhel,
    /// <summary>RHEL 6 and its rebuilds: legacy GRUB (grub.conf), upstart, SysV services, dracut 004.</summary>
    El6,
    Suse,
    /// <summary>Identified, but none of the above; patched by what its files show.</summary>
    Other,
}

public enum InitramfsGenerator
{
    Unknown,
    InitramfsTools,
    Dracut,
}

/// <summary>What the patch steps and rules need to know about the guest's distribution.</summary>
public sealed record GuestDistribution(
    DistributionFamily Family,
    string Id,
    string? VersionId,
    string PrettyName,
    InitramfsGenerator InitramfsGenerator,
    string IdentifiedFrom)
{
    public int? MajorVersion => VersionId is not null && int.TryParse(VersionId.Split('.')[0], out int major) ? major : null;

    public static GuestDistribution Detect(IGuestFileSystem fs, ICollection<Diagnostic>? diagnostics = null)
    {
        var generator = DetectGenerator(fs);
        foreach (string path in new[] { "/etc/os-release", "/usr/lib/os-release" })
        {
            string? text = GuestFiles.TryReadText(fs, path);
            if (text is null)
            {
                continue;
            }
            var release = OsRelease.Parse(text);
            if (release["ID"] is null)
            {
                throw new LinuxImageException(DiagnosticCatalog.GuestDistributionUnknown, path, $"{path} has no ID= line");
            }
            var family = FamilyOf(release.Id, release.IdLike);
            var distribution = new GuestDistribution(family, release.Id, release.VersionId, release.PrettyName, generator, path);
            if (family == DistributionFamily.Rhel && distribution.MajorVersion is <= 6)
            {
                distribution = distribution with { Family = DistributionFamily.El6 };
            }
            return distribution;
        }
        // RHEL 6 and older SUSE releases predate os-release; their release files still identify them.
        var legacy = DetectLegacy(fs, generator);
        if (legacy is null)
        {
            throw new LinuxImageException(DiagnosticCatalog.GuestDistributionUnknown, "/etc/os-release",
                "neither /etc/os-release nor /usr/lib/os-release nor a legacy release file exists");
        }
        diagnostics?.Add(Diagnostic.Create(DiagnosticCatalog.GuestOsReleaseMissing, "/etc/os-release", legacy.IdentifiedFrom, legacy.PrettyName));
        return legacy;
    }

    public static DistributionFamily FamilyOf(string id, IEnumerable<string> idLike)
    {
        foreach (string candidate in new[] { id }.Concat(idLike))
        {
            switch (candidate.ToLowerInvariant())
            {
                case "debian" or "ubuntu" or "raspbian" or "linuxmint" or "devuan":
                    return DistributionFamily.Debian;
                case "rhel" or "fedora" or "centos" or "ol" or "rocky" or "almalinux" or "amzn" or "azurelinux" or "mariner" or "cloudlinux":
                    return DistributionFamily.Rhel;
                case "suse" or "opensuse" or "sles" or "sled" or "sle-micro" or "opensuse-leap" or "opensuse-tumbleweed":
                    return DistributionFamily.Suse;
            }
        }
        return DistributionFamily.Other;
    }

    private static GuestDistribution? DetectLegacy(IGuestFileSystem fs, InitramfsGenerator generator)
    {
        foreach (string path in new[] { "/etc/oracle-release", "/etc/centos-release", "/etc/redhat-release" })
        {
            string? text = GuestFiles.TryReadText(fs, path);
            if (text is null)
            {
                continue;
            }
            var match = Regex.Match(text, @"release\s+(\d+(?:\.\d+)?)");
            string? version = match.Success ? match.Groups[1].Value : null;
            string id = path.Contains("oracle", StringComparison.Ordinal) ? "ol" : path.Contains("centos", StringComparison.Ordinal) ? "centos" : "rhel";
            var family = version is not null && int.Parse(version.Split('.')[0], System.Globalization.CultureInfo.InvariantCulture) <= 6
                ? DistributionFamily.El6 : DistributionFamily.Rhel;
            return new GuestDistribution(family, id, version, text.Trim(), generator, path);
        }
        string? suse = GuestFiles.TryReadText(fs, "/etc/SuSE-release");
        if (suse is not null)
        {
            var match = Regex.Match(suse, @"VERSION\s*=\s*(\d+)");
            return new GuestDistribution(DistributionFamily.Suse, "sles", match.Success ? match.Groups[1].Value : null,
                suse.Split('\n')[0].Trim(), generator, "/etc/SuSE-release");
        }
        string? debian = GuestFiles.TryReadText(fs, "/etc/debian_version");
        if (debian is not null)
        {
            return new GuestDistribution(DistributionFamily.Debian, "debian", debian.Trim(), "Debian " + debian.Trim(), generator, "/etc/debian_version");
        }
        return null;
    }

    private static InitramfsGenerator DetectGenerator(IGuestFileSystem fs)
    {
        if (GuestFiles.Exists(fs, "/usr/sbin/mkinitramfs") || GuestFiles.Exists(fs, "/usr/sbin/update-initramfs")
            || GuestFiles.IsDirectory(fs, "/etc/initramfs-tools"))
        {
            return InitramfsGenerator.InitramfsTools;
        }
        if (GuestFiles.Exists(fs, "/usr/bin/dracut") || GuestFiles.Exists(fs, "/sbin/dracut") || GuestFiles.Exists(fs, "/usr/sbin/dracut")
            || GuestFiles.Exists(fs, "/etc/dracut.conf") || GuestFiles.IsDirectory(fs, "/usr/lib/dracut"))
        {
            return InitramfsGenerator.Dracut;
        }
        return InitramfsGenerator.Unknown;
    }
}
