namespace Azure.LinuxImage.Engine.Guest.Agent;

/// <summary>
/// What cloud-init will do on Azure, read offline: installed, turned off (cloud-init.disabled, a
/// masked unit), and the datasource_list its configuration ends up with (/etc/cloud/cloud.cfg, then
/// cloud.cfg.d/*.cfg in name order, a later top-level key replacing an earlier one, as cloud-init
/// merges them). No datasource_list means cloud-init's own default, which includes Azure.
/// </summary>
public sealed record CloudInitConfig(bool Installed, string? DisabledBy, IReadOnlyList<string>? DatasourceList, string? DatasourceListFile)
{
    public const string MainConfig = "/etc/cloud/cloud.cfg";
    public const string ConfigDirectory = "/etc/cloud/cloud.cfg.d";

    private static readonly string[] Binaries = ["/usr/bin/cloud-init", "/bin/cloud-init", "/usr/local/bin/cloud-init"];

    public bool AllowsAzure => DatasourceList is null || DatasourceList.Contains("Azure", StringComparer.Ordinal);

    /// <summary>cloud-init runs at boot and can use Azure's provisioning data.</summary>
    public bool Provisions => Installed && DisabledBy is null && AllowsAzure;

    public static CloudInitConfig Read(IGuestFileSystem fs)
    {
        bool installed = Binaries.Any(b => GuestFiles.IsFile(fs, b));
        if (!installed)
        {
            return new CloudInitConfig(false, null, null, null);
        }
        string? disabledBy = GuestFiles.Exists(fs, "/etc/cloud/cloud-init.disabled") ? "/etc/cloud/cloud-init.disabled" : null;
        foreach (string unit in new[] { "cloud-init-local.service", "cloud-init.service" })
        {
            string path = "/etc/systemd/system/" + unit;
            if (disabledBy is null && fs.Stat(path) is { Kind: GuestFileKind.Symlink, LinkTarget: "/dev/null" })
            {
                disabledBy = path + " (masked)";
            }
        }
        IReadOnlyList<string>? list = null;
        string? listFile = null;
        var files = new List<string> { MainConfig };
        files.AddRange(GuestFiles.List(fs, ConfigDirectory).Select(e => GuestPath.GetFileName(e.Path))
            .Where(n => n.EndsWith(".cfg", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(n => ConfigDirectory + "/" + n));
        foreach (string file in files)
        {
            if (GuestFiles.TryReadText(fs, file) is { } text && ParseDatasourceList(text) is { } found)
            {
                list = found;
                listFile = file;
            }
        }
        return new CloudInitConfig(true, disabledBy, list, listFile);
    }

    /// <summary>
    /// The top-level datasource_list of one YAML file, in flow form ("[ NoCloud, Azure ]", which may
    /// span lines) or block form ("- Azure" lines); null when the file does not set it.
    /// </summary>
    public static IReadOnlyList<string>? ParseDatasourceList(string text)
    {
        var lines = text.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n');
        List<string>? result = null;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = StripComment(lines[i]);
            if (!line.StartsWith("datasource_list:", StringComparison.Ordinal))
            {
                continue;
            }
            string rest = line["datasource_list:".Length..].Trim();
            var items = new List<string>();
            if (rest.StartsWith('['))
            {
                var flow = new System.Text.StringBuilder(rest);
                while (!flow.ToString().Contains(']', StringComparison.Ordinal) && i + 1 < lines.Length)
                {
                    flow.Append(' ').Append(StripComment(lines[++i]).Trim());
                }
                string inner = flow.ToString().TrimStart('[');
                int close = inner.IndexOf(']', StringComparison.Ordinal);
                inner = close >= 0 ? inner[..close] : inner;
                items.AddRange(inner.Split(',').Select(Unquote).Where(s => s.Length > 0));
            }
            else if (rest.Length == 0)
            {
                while (i + 1 < lines.Length)
                {
                    string next = StripComment(lines[i + 1]);
                    string trimmed = next.Trim();
                    if (trimmed.Length == 0)
                    {
                        i++;
                        continue;
                    }
                    if (!trimmed.StartsWith('-'))
                    {
                        break;
                    }
                    items.Add(Unquote(trimmed[1..]));
                    i++;
                }
            }
            else
            {
                items.Add(Unquote(rest));
            }
            result = items;
        }
        return result;
    }

    private static string StripComment(string line)
    {
        int hash = line.IndexOf('#', StringComparison.Ordinal);
        return (hash >= 0 ? line[..hash] : line).TrimEnd();
    }

    private static string Unquote(string value) => value.Trim().Trim('"', '\'').Trim();
}
