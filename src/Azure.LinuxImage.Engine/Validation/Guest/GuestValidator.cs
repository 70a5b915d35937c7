using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.Guest.Distributions;
using Azure.LinuxImage.Engine.Guest.Initramfs;

namespace Azure.LinuxImage.Engine.Validation.Guest;

/// <summary>Everything a rule may need, read once.</summary>
public sealed class GuestValidationContext
{
    private readonly Dictionary<string, (ISet<string>? Modules, LinuxImageException? Error)> moduleLists = new(StringComparer.Ordinal);

    public GuestValidationContext(IGuestFileSystem fs, GuestValidationOptions options, GuestDistribution distribution)
    {
        FileSystem = fs;
        Options = options;
        Distribution = distribution;
        Kernels = HyperVInitramfs.FindKernels(fs);
    }

    public IGuestFileSystem FileSystem { get; }

    public GuestValidationOptions Options { get; }

    public GuestDistribution Distribution { get; }

    public IReadOnlyList<InstalledKernel> Kernels { get; }

    private readonly Dictionary<string, KernelModules?> kernelModules = new(StringComparer.Ordinal);

    /// <summary>A kernel's module index, read once for every rule that needs it (several MiB of text to parse).</summary>
    public KernelModules? Modules(string version)
    {
        if (!kernelModules.TryGetValue(version, out var modules))
        {
            modules = KernelModules.Load(FileSystem, version);
            kernelModules[version] = modules;
        }
        return modules;
    }

    /// <summary>The kernel modules in an initramfs (listed by the patch step already when it wrote these bytes; see <see cref="InitramfsModuleListCache"/>).</summary>
    public (ISet<string>? Modules, LinuxImageException? Error) InitramfsModules(string path)
    {
        if (!moduleLists.TryGetValue(path, out var result))
        {
            try
            {
                var lists = Options.CacheDirectory is null ? null : new InitramfsModuleListCache(Options.CacheDirectory);
                result = (HyperVInitramfs.ModuleNames(FileSystem, path, lists), null);
            }
            catch (LinuxImageException ex)
            {
                result = (null, ex);
            }
            moduleLists[path] = result;
        }
        return result;
    }
}

public interface IGuestRule
{
    IEnumerable<RuleOutcome> Check(GuestValidationContext context);
}

/// <summary>Runs every guest rule; a rule that throws reports its failure instead of hiding the others.</summary>
public static class GuestValidator
{
    public static IReadOnlyList<IGuestRule> Rules { get; } =
    [
        new LvmRule(),
        new UdfRule(),
        new KernelVersionRule(),
        new InitramfsDriversRule(),
        new AgentRule(),
        new ProvisioningRule(),
        new ResourceDiskRule(),
        new NetworkManagerRule(),
        new WaagentConfRule(),
        new BootEntriesRule(),
        new SshServerRule(),
        new SwapRule(),
        new FstabDeviceNamesRule(),
        new HyperVBlacklistRule(),
        new DeprovisionedRule(),
        new AcceleratedNetworkingRule(),
        new TimeSyncRule(),
        new AzureDiskUdevRule(),
    ];

    public static IReadOnlyList<RuleOutcome> Validate(IGuestFileSystem fs, GuestValidationOptions options)
    {
        GuestDistribution distribution;
        try
        {
            distribution = GuestDistribution.Detect(fs);
        }
        catch (LinuxImageException ex)
        {
            return [RuleOutcome.From("distribution", ex)];
        }
        var context = new GuestValidationContext(fs, options, distribution);
        var outcomes = new List<RuleOutcome>();
        foreach (var rule in Rules)
        {
            try
            {
                using var timed = StepTimings.Measure("validate: " + rule.GetType().Name);
                outcomes.AddRange(rule.Check(context));
            }
            catch (LinuxImageException ex)
            {
                outcomes.Add(RuleOutcome.From(rule.GetType().Name, ex));
            }
        }
        return outcomes;
    }
}
