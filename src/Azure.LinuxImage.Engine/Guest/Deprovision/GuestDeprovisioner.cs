using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest.Agent;

namespace Azure.LinuxImage.Engine.Guest.Deprovision;

/// <summary>
/// The offline equivalent of <c>waagent -force -deprovision[+user]</c> (the agent's
/// pa/deprovision: SSH host keys, root password, DHCP leases, its state directory and log,
/// hostname, root's shell history, resolv.conf, cloud-init state, udev net rules), plus what
/// virt-sysprep does that the agent does not: /etc/machine-id emptied (not deleted: systemd
/// then generates a new one at first boot, so clones get distinct DHCP client ids), every user's
/// shell history, a fresh random seed. A resolv.conf that is a link (systemd-resolved,
/// NetworkManager) is kept, unlike the agent, which deletes it and leaves the VM without DNS.
/// </summary>
public static class GuestDeprovisioner
{
    private static readonly string[] LeaseDirectories = ["/var/lib/dhclient", "/var/lib/dhcp", "/var/lib/dhcpcd", "/var/lib/dhcpcd5", "/var/db/dhcpcd", "/var/lib/wicked", "/run/systemd/netif/leases"];
    private static readonly string[] NetworkManagerLeasePatterns = ["dhclient-*.lease", "dhclient6-*.lease", "internal-*.lease", "*.lease"];
    private static readonly string[] HistoryFiles = [".bash_history", ".zsh_history", ".sh_history", ".ash_history", ".python_history", ".lesshst", ".mysql_history", ".psql_history", ".sqlite_history", ".viminfo"];
    private static readonly string[] CloudInitState = ["/var/lib/cloud/instance", "/var/lib/cloud/instances", "/var/lib/cloud/data", "/var/lib/cloud/sem", "/var/log/cloud-init.log", "/var/log/cloud-init-output.log"];

    public const string WaagentLibDirectory = "/var/lib/waagent";

    /// <summary>
    /// Runs every action; returns one log line per action that changed something. Decisions to
    /// keep something (a managed resolv.conf) go to <paramref name="diagnostics"/> as notes, so a
    /// second run over a deprovisioned guest reports no actions.
    /// </summary>
    public static IReadOnlyList<string> Run(IGuestFileSystem fs, string? deprovisionUser, ICollection<Diagnostic>? diagnostics = null)
    {
        var log = new List<string>();
        if (deprovisionUser is not null)
        {
            DeleteUser(fs, deprovisionUser, log, diagnostics);
        }
        DeleteSshHostKeys(fs, log, diagnostics);
        LockRootPassword(fs, log);
        DeleteDhcpLeases(fs, log);
        EmptyDirectory(fs, WaagentLibDirectory, log, "the agent's state (certificates, ovf-env.xml, goal state, extensions)");
        DeleteFile(fs, "/var/log/waagent.log", log, "the agent's log");
        ResetHostname(fs, log);
        DeleteShellHistories(fs, log);
        HandleResolvConf(fs, log, diagnostics);
        foreach (string path in CloudInitState)
        {
            if (fs.Stat(path) is not null)
            {
                int n = GuestFiles.DeleteTree(fs, path);
                log.Add($"{path}: removed ({n} entries of cloud-init state)");
            }
        }
        DeleteFile(fs, "/etc/udev/rules.d/70-persistent-net.rules", log, "udev's persistent network names pin the build VM's MAC address to eth0");
        EmptyMachineId(fs, log);
        ReplaceRandomSeed(fs, log);
        return log;
    }

    /// <summary>What still identifies the build machine; empty when deprovisioned.</summary>
    public static IReadOnlyList<string> Leftovers(IGuestFileSystem fs)
    {
        var left = new List<string>();
        var keys = SshHostKeys(fs).ToList();
        if (keys.Count > 0 && !KeepsSshHostKeys(fs))
        {
            left.Add($"SSH host keys ({string.Join(", ", keys)})");
        }
        string? rootPassword = ShadowPassword(fs, "root");
        if (rootPassword is not null && !IsLocked(rootPassword))
        {
            left.Add("a root password (/etc/shadow)");
        }
        var leases = Leases(fs).ToList();
        if (leases.Count > 0)
        {
            left.Add($"DHCP leases ({string.Join(", ", leases)})");
        }
        if (GuestFiles.List(fs, WaagentLibDirectory).Count > 0)
        {
            left.Add($"agent state in {WaagentLibDirectory}");
        }
        var histories = Histories(fs).ToList();
        if (histories.Count > 0)
        {
            left.Add($"shell history ({string.Join(", ", histories)})");
        }
        if (GuestFiles.TryReadText(fs, "/etc/machine-id") is { Length: > 0 } id && id.Trim().Length > 0 && id.Trim() != "uninitialized")
        {
            left.Add("a machine-id (/etc/machine-id)");
        }
        foreach (string path in CloudInitState.Where(p => fs.Stat(p) is not null))
        {
            left.Add($"cloud-init state ({path})");
        }
        return left;
    }

    private static void DeleteFile(IGuestFileSystem fs, string path, List<string> log, string why)
    {
        if (fs.Stat(path) is not null)
        {
            fs.Delete(path);
            log.Add($"{path}: removed ({why})");
        }
    }

    private static void EmptyDirectory(IGuestFileSystem fs, string directory, List<string> log, string what)
    {
        var entries = GuestFiles.List(fs, directory);
        if (entries.Count == 0)
        {
            return;
        }
        int n = entries.Sum(e => GuestFiles.DeleteTree(fs, GuestPath.Combine(directory, GuestPath.GetFileName(e.Path))));
        log.Add($"{directory}: emptied, {n} entries ({what})");
    }

    private static IEnumerable<string> SshHostKeys(IGuestFileSystem fs) =>
        GuestFiles.List(fs, "/etc/ssh").Select(e => GuestPath.GetFileName(e.Path))
            .Where(n => GuestFiles.NameMatches(n, "ssh_host_*key*")).Select(n => "/etc/ssh/" + n);

    /// <summary>The agent regenerates host keys only when configured to; cloud-init always does.</summary>
    private static bool KeepsSshHostKeys(IGuestFileSystem fs)
    {
        string? text = GuestFiles.TryReadText(fs, WaagentConf.DefaultPath);
        if (text is null)
        {
            return false;
        }
        var conf = WaagentConf.Parse(WaagentConf.DefaultPath, text);
        return conf.Get("Provisioning.RegenerateSshHostKeyPair") == "n" && conf.Get("Provisioning.Agent") is "waagent";
    }

    private static void Note(ICollection<Diagnostic>? diagnostics, string text) =>
        diagnostics?.Add(Diagnostic.Create(DiagnosticCatalog.GuestPatchAction, null, text));

    private static void DeleteSshHostKeys(IGuestFileSystem fs, List<string> log, ICollection<Diagnostic>? diagnostics)
    {
        var keys = SshHostKeys(fs).ToList();
        if (keys.Count == 0)
        {
            return;
        }
        if (KeepsSshHostKeys(fs))
        {
            Note(diagnostics, "/etc/ssh: host keys kept, because waagent.conf has Provisioning.RegenerateSshHostKeyPair=n and nothing else would create new ones");
            return;
        }
        foreach (string key in keys)
        {
            fs.Delete(key);
        }
        log.Add($"/etc/ssh: removed {keys.Count} SSH host key files (new ones are generated at provisioning)");
    }

    private static bool IsLocked(string password) => password.StartsWith('!') || password.StartsWith('*');

    private static string? ShadowPassword(IGuestFileSystem fs, string user)
    {
        string? shadow = GuestFiles.TryReadText(fs, "/etc/shadow");
        string? line = shadow?.Split('\n').FirstOrDefault(l => l.StartsWith(user + ":", StringComparison.Ordinal));
        return line?.Split(':')[1];
    }

    private static void LockRootPassword(IGuestFileSystem fs, List<string> log)
    {
        string? shadow = GuestFiles.TryReadText(fs, "/etc/shadow");
        if (shadow is null)
        {
            return;
        }
        var lines = shadow.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var fields = lines[i].Split(':');
            if (fields.Length > 1 && fields[0] == "root" && !IsLocked(fields[1]))
            {
                // The agent's own value: no password matches, and passwd -S reports the account locked.
                fields[1] = "*LOCK*";
                lines[i] = string.Join(':', fields);
                GuestFiles.WriteText(fs, "/etc/shadow", string.Join('\n', lines));
                log.Add("/etc/shadow: root password locked");
                return;
            }
        }
    }

    private static IEnumerable<string> Leases(IGuestFileSystem fs)
    {
        foreach (string directory in LeaseDirectories)
        {
            foreach (var entry in GuestFiles.List(fs, directory).Where(e => e.Kind == GuestFileKind.File))
            {
                string name = GuestPath.GetFileName(entry.Path);
                if (name.Contains("lease", StringComparison.OrdinalIgnoreCase) || directory.Contains("dhcpcd", StringComparison.Ordinal) || directory.EndsWith("leases", StringComparison.Ordinal))
                {
                    yield return GuestPath.Combine(directory, name);
                }
            }
        }
        foreach (var entry in GuestFiles.List(fs, "/var/lib/NetworkManager").Where(e => e.Kind == GuestFileKind.File))
        {
            string name = GuestPath.GetFileName(entry.Path);
            if (NetworkManagerLeasePatterns.Any(p => GuestFiles.NameMatches(name, p)))
            {
                yield return "/var/lib/NetworkManager/" + name;
            }
        }
    }

    private static void DeleteDhcpLeases(IGuestFileSystem fs, List<string> log)
    {
        var leases = Leases(fs).ToList();
        foreach (string lease in leases)
        {
            fs.Delete(lease);
        }
        if (leases.Count > 0)
        {
            log.Add($"DHCP leases removed: {string.Join(", ", leases)}");
        }
    }

    private static void ResetHostname(IGuestFileSystem fs, List<string> log)
    {
        // systemd treats "localhost" as unset and takes the name Azure hands out by DHCP.
        if (GuestFiles.TryReadText(fs, "/etc/hostname") is { } hostname && hostname.Trim() != "localhost")
        {
            GuestFiles.WriteText(fs, "/etc/hostname", "localhost\n");
            log.Add($"/etc/hostname: '{hostname.Trim()}' reset to localhost");
        }
        if (GuestFiles.TryReadText(fs, "/etc/sysconfig/network") is { } network)
        {
            var lines = network.Split('\n');
            bool changed = false;
            for (int i = 0; i < lines.Length; i++)
            {
                if (lines[i].StartsWith("HOSTNAME=", StringComparison.Ordinal) && lines[i] != "HOSTNAME=localhost.localdomain")
                {
                    lines[i] = "HOSTNAME=localhost.localdomain";
                    changed = true;
                }
            }
            if (changed)
            {
                GuestFiles.WriteText(fs, "/etc/sysconfig/network", string.Join('\n', lines));
                log.Add("/etc/sysconfig/network: HOSTNAME reset to localhost.localdomain");
            }
        }
    }

    private static IEnumerable<string> HomeDirectories(IGuestFileSystem fs)
    {
        yield return "/root";
        foreach (var entry in GuestFiles.List(fs, "/home").Where(e => e.Kind == GuestFileKind.Directory))
        {
            yield return "/home/" + GuestPath.GetFileName(entry.Path);
        }
    }

    private static IEnumerable<string> Histories(IGuestFileSystem fs) =>
        HomeDirectories(fs).SelectMany(home => HistoryFiles.Select(h => home + "/" + h)).Where(p => fs.Stat(p) is not null);

    private static void DeleteShellHistories(IGuestFileSystem fs, List<string> log)
    {
        var histories = Histories(fs).ToList();
        foreach (string path in histories)
        {
            fs.Delete(path);
        }
        if (histories.Count > 0)
        {
            log.Add($"shell histories removed (the article's HISTSIZE=0): {string.Join(", ", histories)}");
        }
    }

    private static void HandleResolvConf(IGuestFileSystem fs, List<string> log, ICollection<Diagnostic>? diagnostics)
    {
        var info = fs.Stat("/etc/resolv.conf");
        if (info is null)
        {
            return;
        }
        if (info.Kind == GuestFileKind.Symlink)
        {
            Note(diagnostics, $"/etc/resolv.conf: kept, it is managed by the distribution (link to {info.LinkTarget})");
            return;
        }
        fs.Delete("/etc/resolv.conf");
        log.Add("/etc/resolv.conf: removed (the build network's DNS servers; DHCP writes Azure's at boot)");
    }

    private static void EmptyMachineId(IGuestFileSystem fs, List<string> log)
    {
        if (GuestFiles.IsFile(fs, "/etc/machine-id") && fs.ReadFile("/etc/machine-id").Length > 0)
        {
            fs.WriteFile(GuestFiles.Resolve(fs, "/etc/machine-id") ?? "/etc/machine-id", ReadOnlySpan<byte>.Empty);
            log.Add("/etc/machine-id: emptied (systemd generates a new one at first boot, so clones differ)");
        }
        if (fs.Stat("/var/lib/dbus/machine-id") is { Kind: GuestFileKind.File })
        {
            fs.Delete("/var/lib/dbus/machine-id");
            log.Add("/var/lib/dbus/machine-id: removed (D-Bus copies /etc/machine-id)");
        }
    }

    private static void ReplaceRandomSeed(IGuestFileSystem fs, List<string> log)
    {
        if (fs.Stat("/var/lib/systemd/random-seed") is { Kind: GuestFileKind.File })
        {
            fs.Delete("/var/lib/systemd/random-seed");
            log.Add("/var/lib/systemd/random-seed: removed (every clone would start from the same seed)");
        }
    }

    private static void DeleteUser(IGuestFileSystem fs, string user, List<string> log, ICollection<Diagnostic>? diagnostics)
    {
        string? passwd = GuestFiles.TryReadText(fs, "/etc/passwd");
        string? entry = passwd?.Split('\n').FirstOrDefault(l => l.StartsWith(user + ":", StringComparison.Ordinal));
        if (entry is null)
        {
            diagnostics?.Add(Diagnostic.Create(DiagnosticCatalog.DeprovisionUserNotFound, "/etc/passwd", user));
            return;
        }
        var fields = entry.Split(':');
        if (fields.Length > 2 && fields[2] == "0")
        {
            throw new LinuxImageException(DiagnosticCatalog.InvalidArgument, null, "DeprovisionUser", $"'{user}' has uid 0; the SDK does not remove a superuser");
        }
        string home = fields.Length > 5 ? fields[5] : "/home/" + user;
        RemoveLines(fs, "/etc/passwd", l => l.StartsWith(user + ":", StringComparison.Ordinal), log);
        RemoveLines(fs, "/etc/shadow", l => l.StartsWith(user + ":", StringComparison.Ordinal), log);
        foreach (string groupFile in new[] { "/etc/group", "/etc/gshadow" })
        {
            string? text = GuestFiles.TryReadText(fs, groupFile);
            if (text is null)
            {
                continue;
            }
            var lines = text.Split('\n').Where(l => !l.StartsWith(user + ":", StringComparison.Ordinal)).Select(l =>
            {
                var g = l.Split(':');
                if (g.Length < 4)
                {
                    return l;
                }
                g[^1] = string.Join(',', g[^1].Split(',', StringSplitOptions.RemoveEmptyEntries).Where(m => m != user));
                if (groupFile == "/etc/gshadow" && g.Length >= 3)
                {
                    g[2] = string.Join(',', g[2].Split(',', StringSplitOptions.RemoveEmptyEntries).Where(m => m != user));
                }
                return string.Join(':', g);
            }).ToList();
            string updated = string.Join('\n', lines);
            if (updated != text)
            {
                GuestFiles.WriteText(fs, groupFile, updated);
                log.Add($"{groupFile}: user '{user}' and its memberships removed");
            }
        }
        foreach (var sudoers in GuestFiles.List(fs, "/etc/sudoers.d").Where(e => e.Kind == GuestFileKind.File))
        {
            string path = "/etc/sudoers.d/" + GuestPath.GetFileName(sudoers.Path);
            string text = GuestFiles.TryReadText(fs, path) ?? string.Empty;
            var kept = text.Split('\n').Where(l => !l.TrimStart().StartsWith(user + " ", StringComparison.Ordinal) && !l.TrimStart().StartsWith(user + "\t", StringComparison.Ordinal)).ToList();
            if (kept.Count == text.Split('\n').Length)
            {
                continue;
            }
            if (kept.All(l => l.Trim().Length == 0 || l.TrimStart().StartsWith('#')))
            {
                fs.Delete(path);
                log.Add($"{path}: removed (it only granted '{user}' sudo)");
            }
            else
            {
                GuestFiles.WriteText(fs, path, string.Join('\n', kept));
                log.Add($"{path}: '{user}' entries removed");
            }
        }
        if (GuestFiles.IsDirectory(fs, home) && home != "/" && home != "/root")
        {
            int n = GuestFiles.DeleteTree(fs, home);
            log.Add($"{home}: removed with {n} entries (home of '{user}')");
        }
        DeleteFile(fs, "/var/spool/mail/" + user, log, $"mail of '{user}'");
    }

    private static void RemoveLines(IGuestFileSystem fs, string path, Func<string, bool> remove, List<string> log)
    {
        string? text = GuestFiles.TryReadText(fs, path);
        if (text is null)
        {
            return;
        }
        var lines = text.Split('\n');
        var kept = lines.Where(l => !remove(l)).ToArray();
        if (kept.Length != lines.Length)
        {
            GuestFiles.WriteText(fs, path, string.Join('\n', kept));
            log.Add($"{path}: {lines.Length - kept.Length} line(s) removed");
        }
    }
}
