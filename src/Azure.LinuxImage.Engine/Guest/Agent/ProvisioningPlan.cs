using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Guest.Agent;

public enum Provisioner
{
    Nothing,
    Waagent,
    CloudInit,
    /// <summary>Both race for the provisioning media (Provisioning.Agent=waagent with an active cloud-init).</summary>
    Both,
}

/// <summary>
/// Who provisions the VM and what that means for waagent.conf, decided once for patch and validate.
/// The project's WaagentSetting items always win. Where the project is silent:
/// <list type="bullet">
/// <item>waagent.conf naming cloud-init while cloud-init is not installed (Debian's waagent package
/// ships that default without depending on cloud-init) becomes Provisioning.Agent=auto on agents
/// from 2.2.45 (where auto provisions with waagent while cloud-init is absent, and defers to
/// cloud-init if it is installed later), Provisioning.Agent=waagent when the agent's version cannot
/// be read, and Provisioning.Enabled=y / UseCloudInit=n on older agents that know only those switches;</item>
/// <item>the resource disk belongs to whoever provisions: ResourceDisk.Format and EnableSwap are y
/// when waagent provisions (the article's R11) and n when cloud-init does (Microsoft's guidance for
/// cloud-init images: cloud-init's Azure datasource formats and mounts the resource disk itself).</item>
/// </list>
/// </summary>
public sealed class ProvisioningPlan
{
    public const string AgentKey = "Provisioning.Agent";
    public const string FormatKey = "ResourceDisk.Format";
    public const string SwapKey = "ResourceDisk.EnableSwap";

    private ProvisioningPlan(IReadOnlyList<KeyValuePair<string, string>> settings, IReadOnlyList<KeyValuePair<string, string>> checkedSettings,
        Provisioner provisioner, string agentSetting, IReadOnlyList<Diagnostic> diagnostics, WaagentInstallation? agent, CloudInitConfig cloudInit)
    {
        Settings = settings;
        CheckedSettings = checkedSettings;
        Provisioner = provisioner;
        AgentSetting = agentSetting;
        Diagnostics = diagnostics;
        Agent = agent;
        CloudInit = cloudInit;
    }

    /// <summary>What the patch writes into waagent.conf: the project's settings and the SDK's choices.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Settings { get; }

    /// <summary>
    /// What validation holds waagent.conf to: <see cref="Settings"/> without the provisioning
    /// switch the SDK would choose, which the provisioning rule judges by its effect instead.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> CheckedSettings { get; }

    /// <summary>Who provisions once <see cref="Settings"/> are applied.</summary>
    public Provisioner Provisioner { get; }

    /// <summary>The provisioning mode the agent will use once <see cref="Settings"/> are applied: auto, waagent, cloud-init or disabled.</summary>
    public string AgentSetting { get; }

    /// <summary>LIMG0550 / LIMG0551: what the SDK chose and why.</summary>
    public IReadOnlyList<Diagnostic> Diagnostics { get; }

    public WaagentInstallation? Agent { get; }

    public CloudInitConfig CloudInit { get; }

    /// <summary>Who provisions the image as it is, with no choice of the SDK applied (what validation judges).</summary>
    public static ProvisioningPlan AsIs(IGuestFileSystem fs) => For(fs, [], chooseAgent: false);

    public static ProvisioningPlan For(IGuestFileSystem fs, IReadOnlyList<KeyValuePair<string, string>> projectSettings, bool chooseAgent = true)
    {
        var conf = GuestFiles.TryReadText(fs, WaagentConf.DefaultPath) is { } text ? WaagentConf.Parse(WaagentConf.DefaultPath, text) : null;
        var agent = WaagentInstallation.Detect(fs);
        var cloudInit = CloudInitConfig.Read(fs);
        var settings = projectSettings.ToList();
        var sdkKeys = new HashSet<string>(StringComparer.Ordinal);
        var diagnostics = new List<Diagnostic>();
        bool Named(string key) => settings.Any(p => p.Key == key);
        string? Get(string key)
        {
            int at = settings.FindLastIndex(p => p.Key == key);
            return at >= 0 ? settings[at].Value : conf?.Get(key);
        }
        bool modern = agent?.UnderstandsProvisioningAgent(conf) ?? true;

        string configured = AgentMode(modern, Get);
        bool projectDecides = modern ? Named(AgentKey) : Named("Provisioning.Enabled") || Named("Provisioning.UseCloudInit");
        if (chooseAgent && agent is not null && conf is not null && !projectDecides && configured == "cloud-init" && !cloudInit.Installed)
        {
            string before = modern ? $"{AgentKey}={configured}" : $"Provisioning.Enabled={Get("Provisioning.Enabled") ?? "y"} and Provisioning.UseCloudInit={Get("Provisioning.UseCloudInit")}";
            string set;
            string overrideKey;
            if (!modern)
            {
                settings.Add(new("Provisioning.Enabled", "y"));
                settings.Add(new("Provisioning.UseCloudInit", "n"));
                sdkKeys.UnionWith(["Provisioning.Enabled", "Provisioning.UseCloudInit"]);
                set = $"Provisioning.Enabled=y and Provisioning.UseCloudInit=n (WALinuxAgent {agent.Version} predates {AgentKey}, introduced in {WaagentInstallation.ProvisioningAgentIntroduced})";
                overrideKey = "Provisioning.Enabled";
            }
            else if (agent.Version is not null)
            {
                settings.Add(new(AgentKey, "auto"));
                sdkKeys.Add(AgentKey);
                set = $"{AgentKey}=auto (WALinuxAgent {agent.Version} supports auto since {WaagentInstallation.ProvisioningAgentIntroduced}: it provisions itself while cloud-init is absent and defers to cloud-init if it is installed later)";
                overrideKey = AgentKey;
            }
            else
            {
                settings.Add(new(AgentKey, "waagent"));
                sdkKeys.Add(AgentKey);
                set = $"{AgentKey}=waagent (the agent's version could not be read, so auto, known from WALinuxAgent {WaagentInstallation.ProvisioningAgentIntroduced}, is not assumed)";
                overrideKey = AgentKey;
            }
            diagnostics.Add(Diagnostic.Create(DiagnosticCatalog.ProvisioningAgentChosen, conf.Path, before, "cloud-init is not installed", set, "the Azure Linux Agent", overrideKey));
            configured = AgentMode(modern, Get);
        }

        bool agentProvisions = configured == "waagent" || (configured == "auto" && !cloudInit.Provisions);
        // cloud-init runs at boot whatever waagent.conf says; the agent's setting decides only whether waagent provisions too.
        bool cloudInitProvisions = cloudInit.Provisions;
        var provisioner = (agentProvisions, cloudInitProvisions) switch
        {
            (true, true) => Provisioner.Both,
            (true, false) => Provisioner.Waagent,
            (false, true) => Provisioner.CloudInit,
            _ => Provisioner.Nothing,
        };

        string resourceDisk = provisioner == Provisioner.CloudInit ? "n" : "y";
        var chosen = new List<string>();
        if (!Named(FormatKey))
        {
            int at = settings.FindIndex(p => p.Key.StartsWith("ResourceDisk.", StringComparison.Ordinal));
            settings.Insert(at < 0 ? settings.Count : at, new(FormatKey, resourceDisk));
            chosen.Add($"{FormatKey}={resourceDisk}");
        }
        if (!Named(SwapKey))
        {
            int at = settings.FindIndex(p => p.Key == "ResourceDisk.SwapSizeMB");
            settings.Insert(at < 0 ? settings.Count : at, new(SwapKey, resourceDisk));
            chosen.Add($"{SwapKey}={resourceDisk}");
        }
        if (provisioner == Provisioner.CloudInit && chosen.Count > 0)
        {
            diagnostics.Add(Diagnostic.Create(DiagnosticCatalog.ResourceDiskFollowsProvisioning, WaagentConf.DefaultPath, "cloud-init", string.Join(" and ", chosen)));
        }
        var checkedSettings = settings.Where(p => !sdkKeys.Contains(p.Key)).ToList();
        return new ProvisioningPlan(settings, checkedSettings, provisioner, configured, diagnostics, agent, cloudInit);
    }

    /// <summary>The agent's provisioning mode as it reads its configuration (azurelinuxagent/pa/provision/factory.py).</summary>
    private static string AgentMode(bool modern, Func<string, string?> get)
    {
        if (modern)
        {
            return get(AgentKey) ?? "auto";
        }
        // Before 2.2.45: Provisioning.Enabled=y runs waagent's provisioning even when UseCloudInit=y.
        if ((get("Provisioning.Enabled") ?? "y") == "y")
        {
            return "waagent";
        }
        return get("Provisioning.UseCloudInit") == "y" ? "cloud-init" : "disabled";
    }
}
