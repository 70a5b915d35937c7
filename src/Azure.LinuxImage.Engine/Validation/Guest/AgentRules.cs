using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.Guest.Agent;

namespace Azure.LinuxImage.Engine.Validation.Guest;

internal static class AgentFacts
{
    public static readonly string[] AgentPaths = WaagentInstallation.ScriptPaths;

    public static string? AgentPath(IGuestFileSystem fs) => WaagentInstallation.FindScript(fs);

    public static WaagentConf? Conf(IGuestFileSystem fs) =>
        GuestFiles.TryReadText(fs, WaagentConf.DefaultPath) is { } text ? WaagentConf.Parse(WaagentConf.DefaultPath, text) : null;

    /// <summary>Whether a systemd unit is wanted by some target, or a SysV script starts in a multi-user runlevel.</summary>
    public static string? EnabledAt(IGuestFileSystem fs, IEnumerable<string> units, IEnumerable<string> sysvNames)
    {
        foreach (var wants in GuestFiles.List(fs, "/etc/systemd/system").Where(e => GuestPath.GetFileName(e.Path).EndsWith(".wants", StringComparison.Ordinal)))
        {
            string directory = "/etc/systemd/system/" + GuestPath.GetFileName(wants.Path);
            foreach (string unit in units)
            {
                if (GuestFiles.Exists(fs, directory + "/" + unit))
                {
                    return directory + "/" + unit;
                }
            }
        }
        foreach (string rc in new[] { "/etc/rc.d/rc3.d", "/etc/rc3.d", "/etc/rc.d/rc5.d", "/etc/rc5.d", "/etc/rc2.d", "/etc/init.d/rc3.d" })
        {
            foreach (var entry in GuestFiles.List(fs, rc))
            {
                string name = GuestPath.GetFileName(entry.Path);
                if (name.Length > 3 && name[0] == 'S' && sysvNames.Contains(name[3..], StringComparer.Ordinal))
                {
                    return rc + "/" + name;
                }
            }
        }
        return null;
    }

}

/// <summary>R9: the agent installed, with an interpreter it can run (Python 2.6+; pyasn1 for Python 2).</summary>
public sealed class AgentRule : IGuestRule
{
    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        var fs = context.FileSystem;
        string? agent = AgentFacts.AgentPath(fs);
        if (agent is null)
        {
            yield return RuleOutcome.Fail("R9.agent", DiagnosticCatalog.AgentNotInstalled, null, string.Join(", ", AgentFacts.AgentPaths));
            yield break;
        }
        yield return RuleOutcome.Pass("R9.agent", DiagnosticCatalog.AgentNotInstalled, $"The Azure Linux Agent is installed ({agent}).", agent);

        string firstLine = (GuestFiles.TryReadText(fs, agent) ?? string.Empty).Split('\n')[0];
        var interpreter = Interpreter(fs, firstLine);
        if (interpreter.Path is null)
        {
            yield return RuleOutcome.Fail("R9.python", DiagnosticCatalog.AgentPythonMissing, agent, interpreter.Wanted);
            yield break;
        }
        yield return RuleOutcome.Pass("R9.python", DiagnosticCatalog.AgentPythonMissing, $"The agent's interpreter {interpreter.Path} is installed.", interpreter.Path);
        if (!GuestPath.GetFileName(interpreter.Path).StartsWith("python3", StringComparison.Ordinal))
        {
            bool pyasn1 = new[] { "/usr/lib", "/usr/lib64" }.SelectMany(root => GuestFiles.List(fs, root)
                    .Where(e => GuestPath.GetFileName(e.Path).StartsWith("python2", StringComparison.Ordinal))
                    .SelectMany(py => new[] { "site-packages", "dist-packages" }.Select(sp => $"{root}/{GuestPath.GetFileName(py.Path)}/{sp}/pyasn1")))
                .Any(p => GuestFiles.IsDirectory(fs, p));
            yield return pyasn1
                ? RuleOutcome.Pass("R9.pyasn1", DiagnosticCatalog.AgentPyasn1Missing, "pyasn1 is installed for Python 2.")
                : RuleOutcome.Fail("R9.pyasn1", DiagnosticCatalog.AgentPyasn1Missing, agent, interpreter.Path);
        }
    }

    /// <summary>The shebang's interpreter, looking "/usr/bin/env python3" up in the usual directories.</summary>
    private static (string Wanted, string? Path) Interpreter(IGuestFileSystem fs, string shebang)
    {
        if (!shebang.StartsWith("#!", StringComparison.Ordinal))
        {
            // A packaged agent without a shebang is run by the unit through python3 or python.
            string? any = new[] { "/usr/bin/python3", "/usr/bin/python", "/usr/bin/python2" }.FirstOrDefault(p => GuestFiles.IsFile(fs, p));
            return ("python3 or python", any);
        }
        var parts = shebang[2..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            return ("(empty shebang)", null);
        }
        if (GuestPath.GetFileName(parts[0]) == "env" && parts.Length > 1)
        {
            string name = parts[^1];
            string? found = new[] { "/usr/bin/", "/bin/", "/usr/local/bin/" }.Select(d => d + name).FirstOrDefault(p => GuestFiles.IsFile(fs, p));
            return (name, found);
        }
        return (parts[0], GuestFiles.IsFile(fs, parts[0]) ? parts[0] : null);
    }
}

/// <summary>
/// Beyond the article: exactly one of waagent and cloud-init provisions. Both race for the
/// provisioning media; neither leaves the VM never reporting ready (Debian's waagent package
/// defaults to Provisioning.Agent=cloud-init without depending on cloud-init, which the patch
/// resolves unless the project names the agent: Guest/Agent/ProvisioningPlan).
/// </summary>
public sealed class ProvisioningRule : IGuestRule
{
    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        var fs = context.FileSystem;
        var conf = AgentFacts.Conf(fs);
        // Judged as the image is: the settings the patch would choose are not assumed applied.
        var plan = ProvisioningPlan.AsIs(fs);
        if (AgentFacts.AgentPath(fs) is null)
        {
            // R9 reports the missing agent (LIMG0460); without cloud-init nothing at all provisions.
            if (!plan.CloudInit.Provisions)
            {
                string cloudInitState = !plan.CloudInit.Installed ? "is not installed either" : plan.CloudInit.DisabledBy is { } off ? $"is turned off by {off}" : "leaves Azure out of its datasource_list";
                yield return RuleOutcome.Fail("provisioning", DiagnosticCatalog.ProvisioningMissing, null, $"the Azure Linux Agent is not installed and cloud-init {cloudInitState}");
            }
            yield break;
        }
        if (conf is null)
        {
            yield break; // R11 reports it.
        }
        var cloudInit = plan.CloudInit;
        string agentSetting = plan.AgentSetting;
        switch (plan.Provisioner)
        {
            case Provisioner.Both:
                yield return RuleOutcome.Fail("provisioning", DiagnosticCatalog.ProvisioningConflict, conf.Path, agentSetting);
                break;
            case Provisioner.Nothing:
                string why = agentSetting switch
                {
                    "cloud-init" when !cloudInit.Installed => "waagent.conf has Provisioning.Agent=cloud-init but cloud-init is not installed",
                    "cloud-init" when cloudInit.DisabledBy is not null => $"waagent.conf has Provisioning.Agent=cloud-init but {cloudInit.DisabledBy} turns cloud-init off",
                    "cloud-init" => $"waagent.conf has Provisioning.Agent=cloud-init but cloud-init's datasource_list ({cloudInit.DatasourceListFile}: {string.Join(", ", cloudInit.DatasourceList ?? [])}) leaves out Azure",
                    _ => $"waagent.conf has Provisioning.Agent={agentSetting} and cloud-init does not provision",
                };
                yield return RuleOutcome.Fail("provisioning", DiagnosticCatalog.ProvisioningMissing, conf.Path, why);
                break;
            default:
                yield return RuleOutcome.Pass("provisioning", DiagnosticCatalog.ProvisioningConflict,
                    plan.Provisioner == Provisioner.Waagent
                        ? $"The Azure Linux Agent provisions the VM (Provisioning.Agent={agentSetting}); cloud-init does not."
                        : $"cloud-init provisions the VM (Azure in its datasource list); the agent leaves it to cloud-init (Provisioning.Agent={agentSetting}).");
                break;
        }
    }
}

/// <summary>
/// R11 under cloud-init: its Azure datasource partitions, formats and mounts the resource disk
/// (ephemeral0) itself, so waagent must not (ResourceDisk.Format=n, EnableSwap=n).
/// </summary>
public sealed class ResourceDiskRule : IGuestRule
{
    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        var fs = context.FileSystem;
        var conf = AgentFacts.Conf(fs);
        if (AgentFacts.AgentPath(fs) is null || conf is null)
        {
            yield break;
        }
        var plan = ProvisioningPlan.AsIs(fs);
        if (plan.Provisioner is not (Provisioner.CloudInit or Provisioner.Both))
        {
            yield return RuleOutcome.Pass("resource-disk", DiagnosticCatalog.ResourceDiskFormattedTwice, "cloud-init does not provision; the resource disk is the agent's (R11).", conf.Path);
            yield break;
        }
        // The daemon runs the resource disk handler whenever ResourceDisk.Format=y, whoever provisions (azurelinuxagent/daemon/main.py).
        bool formats = (conf.Get(ProvisioningPlan.FormatKey) ?? "y") == "y";
        if (formats)
        {
            string swap = (conf.Get(ProvisioningPlan.SwapKey) ?? "n") == "y" ? " and ResourceDisk.EnableSwap=y" : string.Empty;
            yield return RuleOutcome.Fail("resource-disk", DiagnosticCatalog.ResourceDiskFormattedTwice, conf.Path, conf.Path, swap);
        }
        else
        {
            yield return RuleOutcome.Pass("resource-disk", DiagnosticCatalog.ResourceDiskFormattedTwice, "cloud-init provisions and sets up the resource disk; waagent.conf has ResourceDisk.Format=n.", conf.Path);
        }
    }
}

/// <summary>R10: NetworkManager may fight the agent over the network configuration.</summary>
public sealed class NetworkManagerRule : IGuestRule
{
    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        var fs = context.FileSystem;
        bool installed = GuestFiles.IsFile(fs, "/usr/sbin/NetworkManager") || GuestFiles.IsFile(fs, "/sbin/NetworkManager");
        string? enabled = installed ? AgentFacts.EnabledAt(fs, ["NetworkManager.service"], ["NetworkManager"]) : null;
        yield return enabled is null
            ? RuleOutcome.Pass("R10.networkmanager", DiagnosticCatalog.NetworkManagerEnabled, installed ? "NetworkManager is installed but not enabled." : "NetworkManager is not installed.")
            : RuleOutcome.Fail("R10.networkmanager", DiagnosticCatalog.NetworkManagerEnabled, enabled, enabled);
    }
}

/// <summary>R11: waagent.conf has the project's resource-disk and swap settings, each key once.</summary>
public sealed class WaagentConfRule : IGuestRule
{
    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        var conf = AgentFacts.Conf(context.FileSystem);
        if (conf is null)
        {
            yield return RuleOutcome.Fail("R11.waagent-conf", DiagnosticCatalog.WaagentConfMissing, WaagentConf.DefaultPath, WaagentConf.DefaultPath);
            yield break;
        }
        foreach (var (key, lines) in conf.Duplicates())
        {
            yield return RuleOutcome.Fail("R11.waagent-conf", DiagnosticCatalog.WaagentConfDuplicateKey, conf.Path, conf.Path, key, string.Join(", ", lines));
        }
        // The project's settings and, where it is silent, the resource-disk values that match the provisioning agent.
        foreach (var (key, value) in ProvisioningPlan.For(context.FileSystem, context.Options.Patch.WaagentSettings).CheckedSettings)
        {
            string? actual = conf.Get(key);
            yield return actual == value
                ? RuleOutcome.Pass("R11.waagent-conf", DiagnosticCatalog.WaagentSettingWrong, $"{key}={value}", conf.Path)
                : RuleOutcome.Fail("R11.waagent-conf", DiagnosticCatalog.WaagentSettingWrong, conf.Path, conf.Path, key, actual ?? "(not set)", value);
        }
    }
}

/// <summary>R13: an SSH server installed and started at boot (systemd or SysV).</summary>
public sealed class SshServerRule : IGuestRule
{
    private static readonly string[] Binaries = ["/usr/sbin/sshd", "/sbin/sshd", "/usr/sbin/dropbear"];

    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        var fs = context.FileSystem;
        string? binary = Binaries.FirstOrDefault(b => GuestFiles.IsFile(fs, b));
        if (binary is null)
        {
            yield return RuleOutcome.Fail("R13.ssh", DiagnosticCatalog.SshServerMissing, null, string.Join(", ", Binaries));
            yield break;
        }
        string? enabled = AgentFacts.EnabledAt(fs, ["ssh.service", "sshd.service", "ssh.socket", "sshd.socket", "dropbear.service"], ["ssh", "sshd", "dropbear"]);
        yield return enabled is null
            ? RuleOutcome.Fail("R13.ssh", DiagnosticCatalog.SshServerNotEnabled, binary, "ssh.service / sshd.service in a systemd .wants directory, or an S??ssh(d) link in /etc/rc3.d")
            : RuleOutcome.Pass("R13.ssh", DiagnosticCatalog.SshServerNotEnabled, $"The SSH server {binary} starts at boot ({enabled}).", enabled);
    }
}
