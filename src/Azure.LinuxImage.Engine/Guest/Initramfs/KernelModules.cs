using System.Text.RegularExpressions;

namespace Azure.LinuxImage.Engine.Guest.Initramfs;

/// <summary>
/// One kernel's modules as installed in the guest: /lib/modules/VERSION with modules.dep (paths
/// relative to that directory, compressed modules keep their .xz/.zst/.gz suffix) and
/// modules.builtin.
/// </summary>
public sealed partial class KernelModules
{
    private readonly Dictionary<string, (string Path, IReadOnlyList<string> Dependencies)> byName = new(StringComparer.Ordinal);
    private readonly HashSet<string> builtin = new(StringComparer.Ordinal);

    // The config's y/m options, read once: IsBuiltin asks dozens of times per kernel, and scanning
    // the config per question cost 260 KB of text each time on Debian.
    private readonly Dictionary<string, char> configValues = new(StringComparer.Ordinal);

    private KernelModules(string version, string directory)
    {
        Version = version;
        Directory = directory;
    }

    public string Version { get; }

    /// <summary>The guest directory, /lib/modules/VERSION (or /usr/lib/modules/VERSION).</summary>
    public string Directory { get; }

    public string? ModulesDepText { get; private set; }

    public string? ModulesAliasText { get; private set; }

    public string? KernelConfig { get; private set; }

    public static string? ModuleNameOf(string path)
    {
        var match = ModuleFile().Match(path);
        return match.Success ? match.Groups[1].Value.Replace('-', '_') : null;
    }

    public static KernelModules? Load(IGuestFileSystem fs, string version)
    {
        foreach (string root in new[] { "/lib/modules", "/usr/lib/modules" })
        {
            string directory = root + "/" + version;
            if (!GuestFiles.IsDirectory(fs, directory))
            {
                continue;
            }
            var modules = new KernelModules(version, directory)
            {
                ModulesDepText = GuestFiles.TryReadText(fs, directory + "/modules.dep"),
                ModulesAliasText = GuestFiles.TryReadText(fs, directory + "/modules.alias"),
                KernelConfig = GuestFiles.TryReadText(fs, "/boot/config-" + version) ?? GuestFiles.TryReadText(fs, directory + "/config"),
            };
            foreach (var (path, deps) in ParseModulesDep(modules.ModulesDepText ?? string.Empty))
            {
                string? name = ModuleNameOf(path);
                if (name is not null)
                {
                    modules.byName[name] = (path, deps);
                }
            }
            foreach (string line in (modules.KernelConfig ?? string.Empty).Split('\n'))
            {
                int equals = line.IndexOf('=');
                if (equals > 0 && equals + 1 < line.Length && line[equals + 1] is 'y' or 'm')
                {
                    modules.configValues.TryAdd(line[..equals], line[equals + 1]);
                }
            }
            foreach (string line in (GuestFiles.TryReadText(fs, directory + "/modules.builtin") ?? string.Empty).Split('\n'))
            {
                string? name = ModuleNameOf(line.Trim());
                if (name is not null)
                {
                    modules.builtin.Add(name);
                }
            }
            return modules;
        }
        return null;
    }

    public static IEnumerable<(string Path, IReadOnlyList<string> Dependencies)> ParseModulesDep(string text)
    {
        foreach (string line in text.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0)
            {
                continue;
            }
            yield return (line[..colon].Trim(), line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }
    }

    public bool IsBuiltin(string module) =>
        builtin.Contains(Normalize(module)) || ConfigSays(module) == 'y';

    public bool HasModule(string module) => byName.ContainsKey(Normalize(module));

    public string? PathOf(string module) => byName.TryGetValue(Normalize(module), out var entry) ? entry.Path : null;

    /// <summary>The module and everything it needs, dependencies first (the order modprobe loads them).</summary>
    public IReadOnlyList<string> WithDependencies(string module)
    {
        var ordered = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Visit(string name)
        {
            if (!seen.Add(name) || !byName.TryGetValue(name, out var entry))
            {
                return;
            }
            foreach (string dependency in entry.Dependencies)
            {
                string? dependencyName = ModuleNameOf(dependency);
                if (dependencyName is not null)
                {
                    Visit(dependencyName);
                }
            }
            ordered.Add(name);
        }
        Visit(Normalize(module));
        return ordered;
    }

    public string? DependencyLine(string module) =>
        byName.TryGetValue(Normalize(module), out var entry) ? entry.Path + ":" + string.Concat(entry.Dependencies.Select(d => " " + d)) : null;

    /// <summary>'y', 'm' or null from CONFIG_* in the kernel's config, for the few modules whose option is known.</summary>
    private char? ConfigSays(string module) =>
        ConfigOptions.TryGetValue(Normalize(module), out string? option) ? ConfigOption(option) : null;

    /// <summary>'y' or 'm' when the kernel's config sets <paramref name="option"/> so (its first line for it), else null.</summary>
    public char? ConfigOption(string option) => configValues.TryGetValue(option, out char value) ? value : null;

    private static readonly Dictionary<string, string> ConfigOptions = new(StringComparer.Ordinal)
    {
        ["hv_vmbus"] = "CONFIG_HYPERV",
        ["hv_storvsc"] = "CONFIG_HYPERV_STORAGE",
        ["hv_netvsc"] = "CONFIG_HYPERV_NET",
        ["hv_utils"] = "CONFIG_HYPERV_UTILS",
        ["udf"] = "CONFIG_UDF_FS",
        ["nvme"] = "CONFIG_BLK_DEV_NVME",
    };

    private static string Normalize(string module) => module.Replace('-', '_');

    [GeneratedRegex(@"(?:^|/)([^/]+)\.ko(?:\.(?:xz|zst|gz))?$")]
    private static partial Regex ModuleFile();
}
