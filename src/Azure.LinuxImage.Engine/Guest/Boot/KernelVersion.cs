using System.Globalization;
using System.Text.RegularExpressions;

namespace Azure.LinuxImage.Engine.Guest.Boot;

/// <summary>
/// A kernel release as uname -r prints it ("2.6.32-504.el6.x86_64", "6.1.0-13-amd64"): the upstream
/// version and, for distribution kernels, the release number that RHEL uses to mark its backports.
/// </summary>
public sealed partial record KernelVersion(string Text, int Major, int Minor, int Patch, int? DistributionRelease, bool IsRhelBased)
    : IComparable<KernelVersion>
{
    public static KernelVersion? TryParse(string text)
    {
        var match = VersionPattern().Match(text);
        if (!match.Success)
        {
            return null;
        }
        int Part(int group) => match.Groups[group].Success ? int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
        int? release = match.Groups[4].Success ? int.Parse(match.Groups[4].Value, CultureInfo.InvariantCulture) : null;
        bool rhel = RhelTag().IsMatch(text);
        return new KernelVersion(text, Part(1), Part(2), Part(3), release, rhel);
    }

    /// <summary>The kernel release in a file name such as vmlinuz-5.14.0-362.el9.x86_64 or initrd.img-6.1.0-13-amd64.</summary>
    public static KernelVersion? FromBootFileName(string path)
    {
        string name = GuestPath.GetFileName(path.Trim());
        var match = BootFileName().Match(name);
        return match.Success ? TryParse(match.Groups[1].Value) : null;
    }

    public bool IsOlderThan(int major, int minor, int patch = 0) => CompareUpstream(major, minor, patch) < 0;

    public int CompareUpstream(int major, int minor, int patch) =>
        (Major, Minor, Patch).CompareTo((major, minor, patch));

    /// <summary>
    /// R6: below 2.6.37 the kernel has no NUMA support on Hyper-V, except RHEL's 2.6.32 from release
    /// 504 (RHEL 6.6) on, which carries the backport.
    /// </summary>
    public bool NeedsNumaOff
    {
        get
        {
            if (!IsOlderThan(2, 6, 37))
            {
                return false;
            }
            bool rhelWithBackport = IsRhelBased && CompareUpstream(2, 6, 32) == 0 && DistributionRelease >= 504;
            return !rhelWithBackport;
        }
    }

    /// <summary>R8: RHEL 6.0–6.3 (2.6.32 releases below 358, which is 6.4) shipped no Hyper-V drivers.</summary>
    public bool IsRhel6WithoutHyperVDrivers => IsRhelBased && CompareUpstream(2, 6, 32) == 0 && DistributionRelease < 358;

    public int CompareTo(KernelVersion? other)
    {
        if (other is null)
        {
            return 1;
        }
        int upstream = CompareUpstream(other.Major, other.Minor, other.Patch);
        if (upstream != 0)
        {
            return upstream;
        }
        int release = (DistributionRelease ?? -1).CompareTo(other.DistributionRelease ?? -1);
        return release != 0 ? release : string.CompareOrdinal(Text, other.Text);
    }

    public override string ToString() => Text;

    public static bool operator <(KernelVersion? left, KernelVersion? right) => Compare(left, right) < 0;

    public static bool operator >(KernelVersion? left, KernelVersion? right) => Compare(left, right) > 0;

    public static bool operator <=(KernelVersion? left, KernelVersion? right) => Compare(left, right) <= 0;

    public static bool operator >=(KernelVersion? left, KernelVersion? right) => Compare(left, right) >= 0;

    private static int Compare(KernelVersion? left, KernelVersion? right) =>
        left is null ? (right is null ? 0 : -1) : left.CompareTo(right);

    [GeneratedRegex(@"^(\d+)\.(\d+)(?:\.(\d+))?(?:-(\d+))?")]
    private static partial Regex VersionPattern();

    [GeneratedRegex(@"\.el\d")]
    private static partial Regex RhelTag();

    [GeneratedRegex(@"^(?:vmlinuz|vmlinux|bzImage|Image|kernel|initrd\.img|initrd|initramfs|System\.map|config)-(\d.*?)(?:\.img)?$")]
    private static partial Regex BootFileName();
}
