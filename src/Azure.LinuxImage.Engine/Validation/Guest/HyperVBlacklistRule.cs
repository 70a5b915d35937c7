using System.Text.RegularExpressions;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.Guest.Boot;

namespace Azure.LinuxImage.Engine.Validation.Guest;

/// <summary>
/// Beyond the article: a Hyper-V module blacklisted in modprobe.d ("blacklist hv_netvsc", or
/// "install hv_vmbus /bin/true"), or on the kernel command line (modprobe.blacklist=), which
/// hardening guides and other hypervisors' images leave behind.
/// </summary>
public sealed partial class HyperVBlacklistRule : IGuestRule
{
    private static readonly string[] Directories = ["/etc/modprobe.d", "/usr/lib/modprobe.d", "/lib/modprobe.d", "/run/modprobe.d"];

    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        var fs = context.FileSystem;
        bool failed = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string directory in Directories)
        {
            foreach (var entry in GuestFiles.List(fs, directory).Where(e => GuestPath.GetFileName(e.Path).EndsWith(".conf", StringComparison.Ordinal)))
            {
                string path = directory + "/" + GuestPath.GetFileName(entry.Path);
                string? resolved = GuestFiles.Resolve(fs, path);
                if (resolved is null || !seen.Add(resolved))
                {
                    continue;
                }
                var lines = (GuestFiles.TryReadText(fs, path) ?? string.Empty).Split('\n');
                for (int i = 0; i < lines.Length; i++)
                {
                    var match = BlacklistLine().Match(lines[i]);
                    if (match.Success)
                    {
                        failed = true;
                        yield return RuleOutcome.Fail("hyperv.blacklist", DiagnosticCatalog.HyperVModuleBlacklisted, path, path, i + 1, match.Groups["module"].Value);
                    }
                }
            }
        }
        IReadOnlyList<BootEntry> entries;
        try
        {
            entries = BootLoaderConfiguration.ReadEntries(fs);
        }
        catch (LinuxImageException)
        {
            entries = []; // BootEntriesRule reports an unreadable boot configuration.
        }
        foreach (var entry in entries)
        {
            foreach (string parameter in entry.Parameters.Where(p => p.StartsWith("modprobe.blacklist=", StringComparison.Ordinal) || p.StartsWith("rd.driver.blacklist=", StringComparison.Ordinal)))
            {
                foreach (string module in parameter[(parameter.IndexOf('=') + 1)..].Split(',').Where(m => m.Replace('-', '_').StartsWith("hv_", StringComparison.Ordinal)))
                {
                    failed = true;
                    yield return RuleOutcome.Fail("hyperv.blacklist", DiagnosticCatalog.HyperVModuleBlacklisted, entry.File, entry.File, entry.Line, module);
                }
            }
        }
        if (!failed)
        {
            yield return RuleOutcome.Pass("hyperv.blacklist", DiagnosticCatalog.HyperVModuleBlacklisted, "No Hyper-V module is blacklisted.");
        }
    }

    [GeneratedRegex(@"^\s*(?:blacklist\s+(?<module>hv[_-]\w+)|install\s+(?<module>hv[_-]\w+)\s+/(?:usr/)?bin/(?:true|false))")]
    private static partial Regex BlacklistLine();
}
