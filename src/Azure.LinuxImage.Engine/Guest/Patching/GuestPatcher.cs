using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest.Agent;
using Azure.LinuxImage.Engine.Guest.Boot;
using Azure.LinuxImage.Engine.Guest.Deprovision;
using Azure.LinuxImage.Engine.Guest.Distributions;
using Azure.LinuxImage.Engine.Guest.Fstab;
using Azure.LinuxImage.Engine.Guest.Initramfs;

namespace Azure.LinuxImage.Engine.Guest.Patching;

public sealed record GuestPatchResult(GuestDistribution Distribution, IReadOnlyList<string> Actions, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool Changed => Actions.Count > 0;
}

/// <summary>
/// Runs every patch step on the guest. All edits are planned on a staged view and written only
/// when every step succeeded: a step that cannot do its job safely (duplicate waagent.conf keys, a
/// grub.cfg without entries, no distribution) stops the run with nothing written. What the patch
/// can do but not for every item (an initramfs it cannot extend) is reported as a diagnostic and
/// the rest is applied, so validation can say precisely what remains. Each step is idempotent: a
/// second run over a patched guest writes nothing.
/// </summary>
public static class GuestPatcher
{
    /// <param name="cacheDirectory">Where results of earlier builds are kept by their inputs (the build's intermediate folder), so a changed setting redoes only its own part.</param>
    public static GuestPatchResult Patch(IGuestFileSystem fs, GuestPatchOptions options, string? cacheDirectory = null)
    {
        var initramfsCache = cacheDirectory is null ? null : new InitramfsPatchCache(cacheDirectory);
        var diagnostics = new List<Diagnostic>();
        var distribution = GuestDistribution.Detect(fs, diagnostics);
        var staged = new StagedGuestFileSystem(fs);
        var actions = new List<string>();
        string step = "detection";
        try
        {
            step = "waagent.conf";
            // Who provisions decides Provisioning.Agent (when the named agent is absent) and the resource disk.
            var provisioning = ProvisioningPlan.For(staged, options.WaagentSettings);
            diagnostics.AddRange(provisioning.Diagnostics);
            actions.AddRange(PatchWaagentConf(staged, provisioning.Settings));

            step = "the kernel command line";
            var kernels = HyperVInitramfs.FindKernels(staged);
            var newest = kernels.Count > 0 ? kernels[^1].Parsed : null;
            var architecture = Validation.Boot.BootRules.GuestArchitecture(staged, kernels);
            var edit = new KernelParameterEdit(Validation.Boot.BootRules.ForArchitecture(options.KernelParameters, architecture),
                Validation.Boot.BootRules.RemoveForArchitecture(options.RemoveKernelParameters, architecture),
                kernel => (kernel ?? newest) is { NeedsNumaOff: true } ? ["numa=off"] : []);
            actions.AddRange(BootLoaderConfiguration.Patch(staged, edit, newest));

            step = "/etc/fstab";
            actions.AddRange(PatchFstab(staged));

            step = "the initramfs";
            actions.AddRange(PatchInitramfs(staged, kernels, distribution, options, initramfsCache, diagnostics));

            if (options.Deprovision)
            {
                step = "deprovisioning";
                actions.AddRange(GuestDeprovisioner.Run(staged, options.DeprovisionUser, diagnostics));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or NotSupportedException)
        {
            throw new LinuxImageException(DiagnosticCatalog.GuestPatchAborted, null, ex, step, ex.Message);
        }
        using (StepTimings.Measure("patch: commit to the file systems"))
        {
            staged.Commit();
        }
        diagnostics.AddRange(actions.Select(a => Diagnostic.Create(DiagnosticCatalog.GuestPatchAction, null, a)));
        return new GuestPatchResult(distribution, actions, diagnostics);
    }

    /// <summary>
    /// R7 for every kernel: the generator configured for future images, and each initramfs extended
    /// (through <paramref name="cache"/> when its inputs were seen before).
    /// </summary>
    private static List<string> PatchInitramfs(StagedGuestFileSystem staged, IReadOnlyList<InstalledKernel> kernels, GuestDistribution distribution, GuestPatchOptions options, InitramfsPatchCache? cache, List<Diagnostic> diagnostics)
    {
        var actions = new List<string>();
        // NVMe-based VM sizes also need the nvme driver before the root file system mounts.
        var wanted = options.AzureDiskController == AzureDiskController.NVMe
            ? [.. HyperVInitramfs.PatchedDrivers, "nvme"]
            : HyperVInitramfs.PatchedDrivers;
        actions.AddRange(HyperVInitramfs.ConfigureGenerator(staged, distribution.InitramfsGenerator, wanted));
        foreach (var kernel in kernels.Where(k => k.InitramfsPath is not null))
        {
            var modules = KernelModules.Load(staged, kernel.Version);
            if (modules is null)
            {
                diagnostics.Add(Diagnostic.Create(DiagnosticCatalog.HyperVModulesNotInstalled, "/lib/modules/" + kernel.Version, kernel.Version, string.Join(", ", HyperVInitramfs.PatchedDrivers)));
                continue;
            }
            try
            {
                using var timed = StepTimings.Measure("patch: initramfs " + kernel.Version);
                string? log = HyperVInitramfs.AppendDrivers(staged, kernel.InitramfsPath!, modules, distribution.InitramfsGenerator, AvailableDrivers(modules, wanted), cache);
                if (log is not null)
                {
                    actions.Add(log);
                }
            }
            catch (LinuxImageException ex) when (ex.Descriptor == DiagnosticCatalog.HyperVModulesNotInstalled
                || ex.Descriptor == DiagnosticCatalog.InitramfsCannotAppend || ex.Descriptor == DiagnosticCatalog.InitramfsUnreadable)
            {
                diagnostics.Add(ex.ToDiagnostic());
            }
        }
        return actions;
    }

    /// <summary>
    /// Does the initramfs part of <see cref="Patch"/> on <paramref name="fs"/> for its cache alone:
    /// nothing is written to the guest. The convert step runs it on the source disk beside the copy,
    /// whose bytes the patch step then reads: the patch finds its result by the same inputs instead
    /// of decompressing and recompressing the initramfs on the build's critical path.
    /// </summary>
    public static void WarmInitramfsCache(IGuestFileSystem fs, GuestPatchOptions options, string cacheDirectory)
    {
        var diagnostics = new List<Diagnostic>();
        var distribution = GuestDistribution.Detect(fs, diagnostics);
        var staged = new StagedGuestFileSystem(fs);
        PatchInitramfs(staged, HyperVInitramfs.FindKernels(staged), distribution, options, new InitramfsPatchCache(cacheDirectory) { WaitsForWarmUp = false }, diagnostics);
    }

    /// <summary>The required drivers always; the others (network, utilities, nvme) only when the kernel has them.</summary>
    private static IReadOnlyList<string> AvailableDrivers(KernelModules modules, IReadOnlyList<string> wanted) =>
        [.. wanted.Where(d => HyperVInitramfs.RequiredDrivers.Contains(d) || modules.HasModule(d) || modules.IsBuiltin(d))];

    private static IEnumerable<string> PatchWaagentConf(IGuestFileSystem fs, IReadOnlyList<KeyValuePair<string, string>> settings)
    {
        string path = WaagentConf.DefaultPath;
        string? text = GuestFiles.TryReadText(fs, path);
        bool created = text is null;
        var conf = WaagentConf.Parse(path, text ?? "# Microsoft Azure Linux Agent Configuration (created by Azure.LinuxImage.Sdk)\n");
        conf.ThrowOnDuplicates();
        var changed = new List<string>();
        foreach (var (key, value) in settings)
        {
            string? before = conf.Get(key);
            if (conf.Set(key, value))
            {
                changed.Add(before is null ? $"{key}={value} (added)" : $"{key}={value} (was {before})");
            }
        }
        if (changed.Count > 0)
        {
            GuestFiles.WriteText(fs, path, conf.ToString());
            yield return $"{path}: {(created ? "created, " : string.Empty)}{string.Join(", ", changed)}";
        }
    }

    private static IEnumerable<string> PatchFstab(IGuestFileSystem fs)
    {
        string? text = GuestFiles.TryReadText(fs, FstabFile.DefaultPath);
        if (text is null)
        {
            yield break;
        }
        var (updated, disabled) = FstabFile.DisableSwap(text);
        if (disabled.Count > 0)
        {
            GuestFiles.WriteText(fs, FstabFile.DefaultPath, updated);
            foreach (var entry in disabled)
            {
                yield return $"{FstabFile.DefaultPath}: swap entry on line {entry.Line} ({entry.Spec}) commented out (R14: the agent puts swap on the resource disk)"
                    + (entry.IsSwapPartition ? "; the swap partition itself stays on the disk, unused" : string.Empty);
            }
        }
    }
}
