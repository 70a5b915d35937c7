using System.Text;
using System.Text.RegularExpressions;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Guest.Boot;

/// <summary>
/// Every place a distribution keeps the kernel command line: the defaults that the next
/// grub-mkconfig / perl-Bootloader / kernel-install reads, and the entries the boot loader reads
/// now (grub.cfg, BLS entries, grubenv kernelopts, legacy grub.conf / menu.lst). Reading returns
/// every command line; patching edits each in place, touching nothing else in those files.
/// </summary>
public static partial class BootLoaderConfiguration
{
    private static readonly string[] GrubCfgCandidates =
        ["/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/etc/grub2.cfg", "/etc/grub2-efi.cfg"];

    private static readonly string[] GrubEnvCandidates = ["/boot/grub2/grubenv", "/boot/grub/grubenv"];

    private static readonly string[] LegacyCandidates =
        ["/boot/grub/grub.conf", "/boot/grub/menu.lst", "/etc/grub.conf"];

    // systemd-boot reads Type #1 entries from the ESP, wherever fstab mounts it: /boot/efi, /efi or /boot itself.
    private static readonly string[] BlsDirectories = ["/boot/loader/entries", "/boot/efi/loader/entries", "/efi/loader/entries"];

    /// <summary>Where the EFI system partition's EFI/ directory appears in the guest tree (fstab: /boot/efi, /efi, /boot).</summary>
    private static readonly string[] EspEfiDirectories = ["/boot/efi/EFI", "/efi/EFI", "/boot/EFI"];

    private const string DefaultGrub = "/etc/default/grub";
    private const string SuseBootloader = "/etc/sysconfig/bootloader";
    private const string KernelInstallCmdline = "/etc/kernel/cmdline";

    public static string LookedFor =>
        string.Join(", ", GrubCfgCandidates.Concat(LegacyCandidates).Concat(BlsDirectories).Concat(EspEfiDirectories.Select(d => d + "/*/grub.cfg")));

    /// <summary>Every boot configuration file present, each once (links to the same file collapse).</summary>
    private static IEnumerable<(string Path, BootEntrySource Kind)> Files(IGuestFileSystem fs)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        IEnumerable<(string, BootEntrySource)> Candidates()
        {
            yield return (DefaultGrub, BootEntrySource.Defaults);
            foreach (var entry in GuestFiles.List(fs, "/etc/default/grub.d").Where(e => e.Path.EndsWith(".cfg", StringComparison.Ordinal)).OrderBy(e => e.Path, StringComparer.Ordinal))
            {
                yield return (GuestPath.Combine("/etc/default/grub.d", GuestPath.GetFileName(entry.Path)), BootEntrySource.Defaults);
            }
            yield return (SuseBootloader, BootEntrySource.Defaults);
            yield return (KernelInstallCmdline, BootEntrySource.Defaults);
            foreach (string path in GrubCfgCandidates.Concat(EfiFiles(fs, "grub.cfg")))
            {
                yield return (path, BootEntrySource.GrubCfg);
            }
            foreach (string directory in BlsDirectories)
            {
                foreach (var entry in GuestFiles.List(fs, directory).Where(e => e.Path.EndsWith(".conf", StringComparison.Ordinal)).OrderBy(e => e.Path, StringComparer.Ordinal))
                {
                    yield return (GuestPath.Combine(directory, GuestPath.GetFileName(entry.Path)), BootEntrySource.BlsEntry);
                }
            }
            foreach (string path in GrubEnvCandidates.Concat(EfiFiles(fs, "grubenv")))
            {
                yield return (path, BootEntrySource.GrubEnv);
            }
            foreach (string path in LegacyCandidates.Concat(EfiFiles(fs, "grub.conf")))
            {
                yield return (path, BootEntrySource.LegacyGrub);
            }
        }
        foreach (var (path, kind) in Candidates())
        {
            string? resolved = GuestFiles.Resolve(fs, path);
            if (resolved is not null && GuestFiles.IsFile(fs, resolved) && seen.Add(resolved))
            {
                yield return (resolved, kind);
            }
        }
    }

    /// <summary>
    /// A file in every vendor directory of the ESP (EFI/redhat/grubenv, EFI/debian/grub.cfg, ...).
    /// A Debian, Ubuntu, SUSE or Fedora 34+ grub.cfg there is a stub that loads the real one
    /// (configfile / source): it has no kernel line, so patching leaves it as it is.
    /// </summary>
    private static IEnumerable<string> EfiFiles(IGuestFileSystem fs, string name) =>
        EspEfiDirectories.SelectMany(root => GuestFiles.List(fs, root)
            .Where(e => e.Kind == GuestFileKind.Directory)
            .Select(e => GuestPath.Combine(root, GuestPath.GetFileName(e.Path) + "/" + name)))
            .OrderBy(p => p, StringComparer.Ordinal);

    /// <summary>Every command line, with $kernelopts in BLS entries expanded from grubenv as GRUB does.</summary>
    public static IReadOnlyList<BootEntry> ReadEntries(IGuestFileSystem fs)
    {
        var files = Files(fs).ToList();
        string? kernelopts = ReadKernelopts(fs, files);
        var entries = new List<BootEntry>();
        foreach (var (path, kind) in files)
        {
            string text = GuestFiles.TryReadText(fs, path) ?? string.Empty;
            switch (kind)
            {
                case BootEntrySource.Defaults:
                    entries.AddRange(ReadDefaults(path, text));
                    break;
                case BootEntrySource.GrubCfg:
                    entries.AddRange(ReadGrubCfg(path, text));
                    break;
                case BootEntrySource.BlsEntry:
                    entries.AddRange(ReadBls(path, text, kernelopts));
                    break;
                case BootEntrySource.GrubEnv:
                    var env = ParseGrubEnv(fs, path);
                    if (env is not null && env.TryGetValue("kernelopts", out string? opts))
                    {
                        entries.Add(new BootEntry(path, 0, "kernelopts", kind, KernelCommandLine.Tokenize(opts), null));
                    }
                    break;
                case BootEntrySource.LegacyGrub:
                    entries.AddRange(ReadLegacy(path, text));
                    break;
            }
        }
        return entries;
    }

    /// <summary>Whether the guest has a boot configuration whose current entries can be read.</summary>
    public static void EnsureReadable(IGuestFileSystem fs)
    {
        var files = Files(fs).ToList();
        if (!files.Any(f => f.Kind != BootEntrySource.Defaults))
        {
            throw new LinuxImageException(DiagnosticCatalog.BootLoaderNotFound, null, LookedFor);
        }
        bool hasBls = files.Any(f => f.Kind == BootEntrySource.BlsEntry);
        foreach (var (path, kind) in files.Where(f => f.Kind == BootEntrySource.GrubCfg))
        {
            string text = GuestFiles.TryReadText(fs, path) ?? string.Empty;
            bool delegates = DelegatingDirective().IsMatch(text) || (hasBls && text.Contains("blscfg", StringComparison.Ordinal));
            if (!LinuxLine().IsMatch(text) && !delegates && !KerneloptsLine().IsMatch(text))
            {
                throw new LinuxImageException(DiagnosticCatalog.GrubConfigWithoutEntries, path, path);
            }
        }
    }

    /// <summary>Applies the edit everywhere; returns one log line per changed file. Unchanged files are not rewritten.</summary>
    public static IReadOnlyList<string> Patch(IGuestFileSystem fs, KernelParameterEdit edit, KernelVersion? newestKernel)
    {
        EnsureReadable(fs);
        var files = Files(fs).ToList();
        string? kernelopts = ReadKernelopts(fs, files);
        var log = new List<string>();
        foreach (var (path, kind) in files)
        {
            if (kind == BootEntrySource.GrubEnv)
            {
                byte[] block = fs.ReadFile(path);
                var env = ParseGrubEnv(fs, path);
                if (env is not null && env.TryGetValue("kernelopts", out string? opts))
                {
                    string updated = string.Join(' ', KernelCommandLine.Apply(KernelCommandLine.Tokenize(opts), edit.AddFor(newestKernel), edit.RemoveNames));
                    if (updated != opts)
                    {
                        fs.WriteFile(path, GrubEnvironmentBlock.SetValue(block, path, "kernelopts", updated));
                        log.Add($"{path}: kernelopts set to '{updated}'");
                    }
                }
                continue;
            }
            string text = GuestFiles.TryReadText(fs, path) ?? string.Empty;
            string patched = kind switch
            {
                BootEntrySource.Defaults => PatchDefaults(path, text, edit, newestKernel),
                BootEntrySource.GrubCfg => PatchGrubCfg(text, edit, newestKernel),
                BootEntrySource.BlsEntry => PatchBls(text, edit, kernelopts is not null),
                BootEntrySource.LegacyGrub => PatchLegacy(text, edit),
                _ => text,
            };
            if (patched != text)
            {
                GuestFiles.WriteText(fs, path, patched);
                log.Add($"{path}: kernel command line updated");
            }
        }
        return log;
    }

    private static string? ReadKernelopts(IGuestFileSystem fs, List<(string Path, BootEntrySource Kind)> files)
    {
        foreach (var (path, _) in files.Where(f => f.Kind == BootEntrySource.GrubEnv))
        {
            if (ParseGrubEnv(fs, path) is { } env && env.TryGetValue("kernelopts", out string? opts))
            {
                return opts;
            }
        }
        return null;
    }

    /// <summary>
    /// A malformed grubenv matters only when it holds the kernel command line (RHEL 8 kernelopts);
    /// otherwise GRUB just loses its saved entry, which is not this SDK's business.
    /// </summary>
    private static Dictionary<string, string>? ParseGrubEnv(IGuestFileSystem fs, string path)
    {
        byte[] block = fs.ReadFile(path);
        try
        {
            return GrubEnvironmentBlock.Parse(block, path);
        }
        catch (LinuxImageException) when (!Encoding.UTF8.GetString(block).Contains("kernelopts=", StringComparison.Ordinal))
        {
            return null;
        }
    }

    // ---- /etc/default/grub, grub.d/*.cfg, /etc/sysconfig/bootloader, /etc/kernel/cmdline ----

    private static IEnumerable<BootEntry> ReadDefaults(string path, string text)
    {
        if (path == KernelInstallCmdline)
        {
            yield return new BootEntry(path, 1, "kernel-install command line", BootEntrySource.Defaults, KernelCommandLine.Tokenize(text), null);
            yield break;
        }
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var match = ShellAssignment().Match(lines[i]);
            if (match.Success && IsCommandLineVariable(path, match.Groups["name"].Value))
            {
                yield return new BootEntry(path, i + 1, match.Groups["name"].Value, BootEntrySource.Defaults,
                    KernelCommandLine.Tokenize(OsReleaseUnquote(match.Groups["value"].Value)), null);
            }
        }
    }

    private static bool IsCommandLineVariable(string path, string name) => path == SuseBootloader
        ? name == "DEFAULT_APPEND"
        : name is "GRUB_CMDLINE_LINUX" or "GRUB_CMDLINE_LINUX_DEFAULT";

    private static string PatchDefaults(string path, string text, KernelParameterEdit edit, KernelVersion? newestKernel)
    {
        var add = edit.AddFor(newestKernel);
        if (path == KernelInstallCmdline)
        {
            string updated = string.Join(' ', KernelCommandLine.Apply(KernelCommandLine.Tokenize(text), add, edit.RemoveNames));
            return updated == text.TrimEnd('\n') ? text : updated + "\n";
        }
        var lines = text.Split('\n').ToList();
        bool sawPrimary = false;
        for (int i = 0; i < lines.Count; i++)
        {
            var match = ShellAssignment().Match(lines[i]);
            string name = match.Groups["name"].Value;
            if (!match.Success || !IsCommandLineVariable(path, name))
            {
                continue;
            }
            var tokens = KernelCommandLine.Tokenize(OsReleaseUnquote(match.Groups["value"].Value));
            // GRUB_CMDLINE_LINUX reaches every entry, recovery included, so additions go there; the
            // _DEFAULT variable comes later on the line and would override them, so it only loses
            // the removed names and any other value of an added one.
            bool primary = name is "GRUB_CMDLINE_LINUX" or "DEFAULT_APPEND";
            sawPrimary |= primary;
            var updated = primary
                ? KernelCommandLine.Apply(tokens, add, edit.RemoveNames)
                : KernelCommandLine.WithoutConflicts(tokens, add, edit.RemoveNames);
            if (!updated.SequenceEqual(tokens, StringComparer.Ordinal))
            {
                lines[i] = match.Groups["prefix"].Value + name + "=" + Quote(string.Join(' ', updated), match.Groups["value"].Value);
            }
        }
        if (!sawPrimary && path == DefaultGrub)
        {
            int insertAt = lines.Count > 0 && lines[^1].Length == 0 ? lines.Count - 1 : lines.Count;
            lines.Insert(insertAt, $"GRUB_CMDLINE_LINUX=\"{string.Join(' ', KernelCommandLine.Apply([], add, edit.RemoveNames))}\"");
        }
        return string.Join('\n', lines);
    }

    private static string Quote(string value, string originalValue)
    {
        char quote = originalValue.TrimStart().FirstOrDefault();
        if (quote == '\'' && !value.Contains('\'', StringComparison.Ordinal))
        {
            return "'" + value + "'";
        }
        return "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }

    private static string OsReleaseUnquote(string value)
    {
        string trimmed = value.Trim();
        // A trailing shell comment after the closing quote is not part of the value.
        if (trimmed.Length > 0 && trimmed[0] is '"' or '\'')
        {
            int close = trimmed.LastIndexOf(trimmed[0]);
            if (close > 0)
            {
                trimmed = trimmed[..(close + 1)];
            }
        }
        return Distributions.OsRelease.Unquote(trimmed);
    }

    // ---- grub.cfg ----

    private static IEnumerable<BootEntry> ReadGrubCfg(string path, string text)
    {
        var lines = text.Split('\n');
        string title = "(no menuentry)";
        for (int i = 0; i < lines.Length; i++)
        {
            var menu = MenuEntry().Match(lines[i]);
            if (menu.Success)
            {
                title = menu.Groups["title"].Value;
            }
            var linux = LinuxLine().Match(lines[i]);
            if (linux.Success)
            {
                yield return new BootEntry(path, i + 1, $"'{title}'", BootEntrySource.GrubCfg,
                    KernelCommandLine.Tokenize(linux.Groups["params"].Value), KernelVersion.FromBootFileName(linux.Groups["kernel"].Value));
            }
            var opts = KerneloptsLine().Match(lines[i]);
            if (opts.Success)
            {
                yield return new BootEntry(path, i + 1, "default kernelopts", BootEntrySource.GrubCfg,
                    KernelCommandLine.Tokenize(opts.Groups["value"].Value), null);
            }
        }
    }

    private static string PatchGrubCfg(string text, KernelParameterEdit edit, KernelVersion? newestKernel)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var linux = LinuxLine().Match(lines[i]);
            if (linux.Success)
            {
                var kernel = KernelVersion.FromBootFileName(linux.Groups["kernel"].Value);
                lines[i] = RewriteParameters(lines[i], linux.Groups["params"], edit.AddFor(kernel), edit.RemoveNames);
                continue;
            }
            var opts = KerneloptsLine().Match(lines[i]);
            if (opts.Success)
            {
                lines[i] = RewriteParameters(lines[i], opts.Groups["value"], edit.AddFor(newestKernel), edit.RemoveNames);
            }
        }
        return string.Join('\n', lines);
    }

    private static string RewriteParameters(string line, Group parameters, IReadOnlyList<string> add, IEnumerable<string> removeNames)
    {
        var tokens = KernelCommandLine.Tokenize(parameters.Value);
        var updated = KernelCommandLine.Apply(tokens, add, removeNames);
        if (updated.SequenceEqual(tokens, StringComparer.Ordinal))
        {
            return line;
        }
        string joined = updated.Count == 0 ? string.Empty : " " + string.Join(' ', updated);
        if (parameters.Value.Length > 0 && !char.IsWhiteSpace(parameters.Value[0]))
        {
            joined = joined.TrimStart();
        }
        return line[..parameters.Index] + joined + line[(parameters.Index + parameters.Length)..];
    }

    // ---- BLS entries ----

    private static IEnumerable<BootEntry> ReadBls(string path, string text, string? kernelopts)
    {
        var lines = text.Split('\n');
        string title = GuestPath.GetFileName(path);
        KernelVersion? kernel = null;
        int optionsLine = 0;
        var parameters = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            var key = BlsKey().Match(lines[i]);
            if (!key.Success)
            {
                continue;
            }
            string value = key.Groups["value"].Value;
            switch (key.Groups["key"].Value)
            {
                case "title":
                    title = value.Trim();
                    break;
                case "linux":
                    kernel ??= KernelVersion.FromBootFileName(value);
                    break;
                case "version":
                    kernel = KernelVersion.TryParse(value.Trim()) ?? kernel;
                    break;
                case "options":
                    optionsLine = i + 1;
                    foreach (string token in KernelCommandLine.Tokenize(value))
                    {
                        // GRUB's blscfg expands variables from grubenv; $kernelopts is what RHEL 8 uses.
                        if (token == "$kernelopts" || token == "${kernelopts}")
                        {
                            parameters.AddRange(KernelCommandLine.Tokenize(kernelopts ?? string.Empty));
                        }
                        else
                        {
                            parameters.Add(token);
                        }
                    }
                    break;
            }
        }
        yield return new BootEntry(path, optionsLine, $"'{title}'", BootEntrySource.BlsEntry, parameters, kernel);
    }

    private static string PatchBls(string text, KernelParameterEdit edit, bool grubenvHasKernelopts)
    {
        var lines = text.Split('\n').ToList();
        KernelVersion? kernel = null;
        foreach (string line in lines)
        {
            var key = BlsKey().Match(line);
            if (key.Success && key.Groups["key"].Value == "linux")
            {
                kernel ??= KernelVersion.FromBootFileName(key.Groups["value"].Value);
            }
            if (key.Success && key.Groups["key"].Value == "version")
            {
                kernel = KernelVersion.TryParse(key.Groups["value"].Value.Trim()) ?? kernel;
            }
        }
        int index = lines.FindIndex(l => BlsKey().Match(l) is { Success: true } m && m.Groups["key"].Value == "options");
        if (index < 0)
        {
            int insertAt = lines.Count > 0 && lines[^1].Length == 0 ? lines.Count - 1 : lines.Count;
            lines.Insert(insertAt, "options " + string.Join(' ', KernelCommandLine.Apply([], edit.AddFor(kernel), edit.RemoveNames)));
            return string.Join('\n', lines);
        }
        var match = BlsKey().Match(lines[index]);
        var tokens = KernelCommandLine.Tokenize(match.Groups["value"].Value);
        bool usesKernelopts = tokens.Any(t => t is "$kernelopts" or "${kernelopts}");
        // With $kernelopts the shared parameters live in grubenv (patched there); adding them here
        // too would put each twice on the command line. Kernel-specific ones (numa=off) stay here.
        var add = usesKernelopts && grubenvHasKernelopts
            ? [.. edit.AddFor(kernel).Except(edit.Add, StringComparer.Ordinal)]
            : edit.AddFor(kernel);
        lines[index] = RewriteParameters(lines[index], match.Groups["value"], add, edit.RemoveNames);
        return string.Join('\n', lines);
    }

    // ---- legacy GRUB ----

    private static IEnumerable<BootEntry> ReadLegacy(string path, string text)
    {
        var lines = text.Split('\n');
        string title = "(no title)";
        for (int i = 0; i < lines.Length; i++)
        {
            var t = LegacyTitle().Match(lines[i]);
            if (t.Success)
            {
                title = t.Groups["title"].Value.Trim();
            }
            var kernel = LegacyKernelLine().Match(lines[i]);
            if (kernel.Success)
            {
                yield return new BootEntry(path, i + 1, $"'{title}'", BootEntrySource.LegacyGrub,
                    KernelCommandLine.Tokenize(kernel.Groups["params"].Value), KernelVersion.FromBootFileName(kernel.Groups["kernel"].Value));
            }
        }
    }

    private static string PatchLegacy(string text, KernelParameterEdit edit)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var kernel = LegacyKernelLine().Match(lines[i]);
            if (kernel.Success)
            {
                lines[i] = RewriteParameters(lines[i], kernel.Groups["params"], edit.AddFor(KernelVersion.FromBootFileName(kernel.Groups["kernel"].Value)), edit.RemoveNames);
            }
        }
        return string.Join('\n', lines);
    }

    [GeneratedRegex(@"^(?<prefix>\s*(?:export\s+)?)(?<name>[A-Z_][A-Z0-9_]*)=(?<value>.*)$")]
    private static partial Regex ShellAssignment();

    [GeneratedRegex(@"^\s*(?:linux|linux16|linuxefi)\s+(?<kernel>\S+)(?<params>[^\r\n]*)", RegexOptions.Multiline)]
    private static partial Regex LinuxLine();

    [GeneratedRegex(@"^\s*set\s+kernelopts=""(?<value>[^""]*)""", RegexOptions.Multiline)]
    private static partial Regex KerneloptsLine();

    [GeneratedRegex(@"^\s*(?:configfile|source|blscfg)\b", RegexOptions.Multiline)]
    private static partial Regex DelegatingDirective();

    [GeneratedRegex(@"^\s*menuentry\s+(?:'(?<title>[^']*)'|""(?<title>[^""]*)""|(?<title>\S+))")]
    private static partial Regex MenuEntry();

    [GeneratedRegex(@"^(?<key>title|version|linux|options|initrd|machine-id)\s+(?<value>.*)$")]
    private static partial Regex BlsKey();

    [GeneratedRegex(@"^\s*title\s+(?<title>.*)$")]
    private static partial Regex LegacyTitle();

    [GeneratedRegex(@"^\s*kernel\s+(?<kernel>\S+)(?<params>.*)$")]
    private static partial Regex LegacyKernelLine();

    internal static string Describe(BootEntry entry) => new StringBuilder(entry.Description).Append(" (line ").Append(entry.Line).Append(')').ToString();
}
