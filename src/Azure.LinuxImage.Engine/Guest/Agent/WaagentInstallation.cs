using System.Text.RegularExpressions;

namespace Azure.LinuxImage.Engine.Guest.Agent;

/// <summary>
/// The installed Azure Linux Agent: its script and the version of its Python package, read from
/// azurelinuxagent/common/version.py (AGENT_VERSION) or, failing that, the name of its
/// egg-info / dist-info directory. The daemon that provisions is this installed version (the
/// agent's self-update replaces only the extension handler), so it decides which waagent.conf
/// keys are understood.
/// </summary>
public sealed partial record WaagentInstallation(string ScriptPath, Version? Version, string? VersionSource)
{
    public static readonly string[] ScriptPaths = ["/usr/sbin/waagent", "/usr/bin/waagent", "/sbin/waagent", "/usr/local/sbin/waagent"];

    /// <summary>
    /// WALinuxAgent 2.2.45 (PR #1633, November 2019) introduced Provisioning.Agent with "auto" (the
    /// default), "waagent", "cloud-init" and "disabled", and made Provisioning.Enabled and
    /// Provisioning.UseCloudInit no-ops. Older agents know only those two switches.
    /// </summary>
    public static readonly Version ProvisioningAgentIntroduced = new(2, 2, 45);

    private static readonly string[] PythonLibRoots = ["/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/local/lib64"];

    public static string? FindScript(IGuestFileSystem fs) => ScriptPaths.FirstOrDefault(p => GuestFiles.IsFile(fs, p));

    /// <summary>Null when no waagent script is installed.</summary>
    public static WaagentInstallation? Detect(IGuestFileSystem fs)
    {
        string? script = FindScript(fs);
        if (script is null)
        {
            return null;
        }
        foreach (string packages in PackageDirectories(fs))
        {
            string versionFile = packages + "/azurelinuxagent/common/version.py";
            if (GuestFiles.TryReadText(fs, versionFile) is { } text && AgentVersionLine().Match(text) is { Success: true } match
                && Version.TryParse(match.Groups[1].Value, out var version))
            {
                return new WaagentInstallation(script, version, versionFile);
            }
        }
        foreach (string packages in PackageDirectories(fs))
        {
            foreach (var entry in GuestFiles.List(fs, packages))
            {
                string name = GuestPath.GetFileName(entry.Path);
                if (DistributionDirectory().Match(name) is { Success: true } match && Version.TryParse(match.Groups[1].Value, out var version))
                {
                    return new WaagentInstallation(script, version, packages + "/" + name);
                }
            }
        }
        return new WaagentInstallation(script, null, null);
    }

    /// <summary>Whether the agent reads Provisioning.Agent (unknown versions: whether the configuration uses it).</summary>
    public bool UnderstandsProvisioningAgent(WaagentConf? conf) =>
        Version is { } v ? v >= ProvisioningAgentIntroduced : conf?.Get("Provisioning.Agent") is not null || conf?.Get("Provisioning.UseCloudInit") is null;

    private static IEnumerable<string> PackageDirectories(IGuestFileSystem fs)
    {
        foreach (string root in PythonLibRoots)
        {
            foreach (var python in GuestFiles.List(fs, root).Where(e => GuestPath.GetFileName(e.Path).StartsWith("python", StringComparison.Ordinal)).OrderByDescending(e => e.Path, StringComparer.Ordinal))
            {
                string directory = root + "/" + GuestPath.GetFileName(python.Path);
                foreach (string sub in new[] { "/site-packages", "/dist-packages" })
                {
                    if (GuestFiles.IsDirectory(fs, directory + sub))
                    {
                        yield return directory + sub;
                    }
                }
            }
        }
    }

    [GeneratedRegex(@"^AGENT_VERSION\s*=\s*['""]([0-9]+(?:\.[0-9]+){1,3})['""]", RegexOptions.Multiline)]
    private static partial Regex AgentVersionLine();

    [GeneratedRegex(@"^WALinuxAgent-([0-9]+(?:\.[0-9]+){1,3})[-.].*(?:egg-info|dist-info)$")]
    private static partial Regex DistributionDirectory();
}
