using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest.Boot;
using Azure.LinuxImage.Engine.Guest.Distributions;

namespace Azure.LinuxImage.Engine.Guest.Initramfs;

/// <summary>An installed kernel and the initramfs the boot loader loads with it.</summary>
public sealed record InstalledKernel(string Version, KernelVersion? Parsed, string KernelPath, string? InitramfsPath);

/// <summary>
/// R7: the Hyper-V drivers in every initramfs. Configures the distribution's generator for future
/// images, and extends an existing initramfs offline by appending a newc segment that the kernel
/// unpacks over the original: the missing modules and their dependencies, merged modules.dep /
/// modules.alias with the binary indexes libkmod reads, and the generator's own early-load hook
/// (initramfs-tools: conf/modules; dracut: rd.driver.pre in etc/cmdline.d and
/// etc/modules-load.d for systemd-modules-load).
/// </summary>
public static class HyperVInitramfs
{
    public static readonly IReadOnlyList<string> RequiredDrivers = ["hv_vmbus", "hv_storvsc"];

    public static readonly IReadOnlyList<string> PatchedDrivers = ["hv_vmbus", "hv_storvsc", "hv_netvsc", "hv_utils"];

    public const string DracutConfPath = "/etc/dracut.conf.d/90-azure-hyperv.conf";
    public const string InitramfsToolsModulesPath = "/etc/initramfs-tools/modules";

    private static readonly string[] InitramfsPatterns = ["/boot/initrd.img-{0}", "/boot/initramfs-{0}.img", "/boot/initrd-{0}", "/boot/initrd-{0}.img", "/boot/initramfs-{0}"];

    public static string InitramfsCandidates(string version) => string.Join(", ", InitramfsPatterns.Select(p => string.Format(System.Globalization.CultureInfo.InvariantCulture, p, version)));

    /// <summary>Kernels in /boot (rescue kernels excluded: their generic initramfs carries every driver), newest last.</summary>
    public static IReadOnlyList<InstalledKernel> FindKernels(IGuestFileSystem fs)
    {
        var kernels = new Dictionary<string, InstalledKernel>(StringComparer.Ordinal);
        foreach (var entry in GuestFiles.List(fs, "/boot"))
        {
            string name = GuestPath.GetFileName(entry.Path);
            foreach (string prefix in new[] { "vmlinuz-", "vmlinux-", "Image-" })
            {
                if (!name.StartsWith(prefix, StringComparison.Ordinal) || name.Contains("rescue", StringComparison.Ordinal) || name.EndsWith(".hmac", StringComparison.Ordinal))
                {
                    continue;
                }
                string version = name[prefix.Length..];
                string? initramfs = InitramfsPatterns.Select(p => string.Format(System.Globalization.CultureInfo.InvariantCulture, p, version)).FirstOrDefault(p => GuestFiles.IsFile(fs, p));
                kernels[version] = new InstalledKernel(version, KernelVersion.TryParse(version), "/boot/" + name, initramfs);
            }
        }
        return [.. kernels.Values.OrderBy(k => k.Parsed).ThenBy(k => k.Version, StringComparer.Ordinal)];
    }

    public static InitramfsImage ReadImage(IGuestFileSystem fs, string path, Func<string, bool>? keepData = null)
    {
        byte[] data = GuestFiles.TryReadBytes(fs, path) ?? throw new LinuxImageException(DiagnosticCatalog.InitramfsUnreadable, path, path, "it does not exist");
        return Parse(data, path, keepData);
    }

    private static InitramfsImage Parse(byte[] data, string path, Func<string, bool>? keepData)
    {
        try
        {
            return InitramfsReader.Read(data, keepData ?? (_ => false));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The decompressors throw their own exception types on damaged input; whichever it is,
            // a damaged initramfs is the user's to fix, not a crash.
            throw new LinuxImageException(DiagnosticCatalog.InitramfsUnreadable, path, ex, path, ex.Message);
        }
    }

    /// <summary>Drivers that are neither built into the kernel nor modules in the initramfs.</summary>
    public static IReadOnlyList<string> MissingDrivers(InitramfsImage image, KernelModules? modules, IEnumerable<string> drivers) =>
        MissingDrivers(image.ModuleNames(), modules, drivers);

    /// <summary>Drivers that are neither built into the kernel nor among the initramfs's <paramref name="present"/> modules.</summary>
    public static IReadOnlyList<string> MissingDrivers(ISet<string> present, KernelModules? modules, IEnumerable<string> drivers) =>
        [.. drivers.Where(d => !present.Contains(d) && !(modules?.IsBuiltin(d) ?? false))];

    /// <summary>
    /// The modules of the initramfs at <paramref name="path"/>: from <paramref name="lists"/> when an
    /// earlier step listed these very bytes, else by reading the archive (and remembered there).
    /// </summary>
    public static ISet<string> ModuleNames(IGuestFileSystem fs, string path, InitramfsModuleListCache? lists)
    {
        byte[] data = GuestFiles.TryReadBytes(fs, path) ?? throw new LinuxImageException(DiagnosticCatalog.InitramfsUnreadable, path, path, "it does not exist");
        string? key = lists is null ? null : InitramfsModuleListCache.Key(data);
        if (key is not null && lists!.TryGet(key) is { } known)
        {
            return known;
        }
        var names = Parse(data, path, null).ModuleNames();
        if (key is not null)
        {
            lists!.Put(key, names);
        }
        return names;
    }

    /// <summary>Makes every future initramfs carry the drivers; returns log lines for what changed.</summary>
    public static IReadOnlyList<string> ConfigureGenerator(IGuestFileSystem fs, InitramfsGenerator generator, IReadOnlyList<string>? drivers = null)
    {
        drivers ??= PatchedDrivers;
        var log = new List<string>();
        if (generator == InitramfsGenerator.InitramfsTools)
        {
            string text = GuestFiles.TryReadText(fs, InitramfsToolsModulesPath) ?? "# List of modules that you want to include in your initramfs.\n";
            var listed = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split(' ')[0].Replace('-', '_')).ToHashSet(StringComparer.Ordinal);
            var missing = drivers.Where(d => !listed.Contains(d)).ToList();
            if (missing.Count > 0)
            {
                var sb = new StringBuilder(text);
                if (sb.Length > 0 && sb[^1] != '\n')
                {
                    sb.Append('\n');
                }
                sb.Append("# Drivers Azure needs to find the OS disk (added by Azure.LinuxImage.Sdk, R7)\n");
                foreach (string driver in missing)
                {
                    sb.Append(driver).Append('\n');
                }
                GuestFiles.EnsureDirectory(fs, "/etc/initramfs-tools");
                GuestFiles.WriteText(fs, InitramfsToolsModulesPath, sb.ToString());
                log.Add($"{InitramfsToolsModulesPath}: added {string.Join(", ", missing)}");
            }
        }
        else if (generator == InitramfsGenerator.Dracut)
        {
            string wanted = "# Drivers Azure needs to find the OS disk (Azure.LinuxImage.Sdk, R7)\n"
                + $"add_drivers+=\" {string.Join(' ', drivers)} \"\n";
            if (GuestFiles.TryReadText(fs, DracutConfPath) != wanted)
            {
                GuestFiles.EnsureDirectory(fs, "/etc/dracut.conf.d");
                GuestFiles.WriteText(fs, DracutConfPath, wanted);
                log.Add($"{DracutConfPath}: dracut adds {string.Join(", ", drivers)} to every initramfs");
            }
        }
        return log;
    }

    private static bool KeepForMerge(string path)
    {
        string p = path.StartsWith("./", StringComparison.Ordinal) ? path[2..] : path.TrimStart('/');
        return p.EndsWith("/modules.dep", StringComparison.Ordinal) || p.EndsWith("/modules.alias", StringComparison.Ordinal)
            || p == "conf/modules" || p.StartsWith("etc/modules-load.d/", StringComparison.Ordinal);
    }

    /// <summary>
    /// Appends the missing drivers to one initramfs. Returns a log line, or null when nothing was
    /// missing. Throws <see cref="LinuxImageException"/> (nothing written) when it cannot be done.
    /// </summary>
    /// <param name="cache">Results of earlier builds, by their inputs (see <see cref="InitramfsPatchCache"/>).</param>
    public static string? AppendDrivers(IGuestFileSystem fs, string initramfsPath, KernelModules modules, InitramfsGenerator generator, IReadOnlyList<string> drivers, InitramfsPatchCache? cache = null)
    {
        cache?.AwaitWarmUp();
        byte[] original = Diagnostics.StepTimings.Measure("patch: initramfs read", () => GuestFiles.TryReadBytes(fs, initramfsPath))
            ?? throw new LinuxImageException(DiagnosticCatalog.InitramfsUnreadable, initramfsPath, initramfsPath, "it does not exist");
        string target = GuestFiles.Resolve(fs, initramfsPath) ?? initramfsPath;
        string? key = cache is null ? null : Diagnostics.StepTimings.Measure("patch: initramfs cache key", () => InitramfsPatchCache.Key(original, modules, generator, drivers, path => GuestFiles.TryReadBytes(fs, path)));
        if (key is not null && cache!.TryGet(key) is { } hit)
        {
            if (hit.Log is null)
            {
                return null;
            }
            if (hit.Apply(original) is { } cached)
            {
                WriteOwned(fs, target, cached);
                return hit.Log;
            }
        }
        string? log = AppendDrivers(fs, initramfsPath, original, modules, generator, drivers, out byte[]? patched, out var modulesAfter);
        if (key is not null)
        {
            using var store = Diagnostics.StepTimings.Measure("patch: initramfs store");
            cache!.Put(key, InitramfsPatchCache.Entry.Diff(original, patched ?? original, log));
            // Validation reads the initramfs this step leaves: its list is known here without decompressing.
            cache.ModuleLists.Put(InitramfsModuleListCache.Key(patched ?? original), modulesAfter);
        }
        if (patched is not null)
        {
            WriteOwned(fs, target, patched);
        }
        return log;
    }

    /// <summary>A whole new initramfs, which nothing here touches again: staged without another copy of it.</summary>
    private static void WriteOwned(IGuestFileSystem fs, string path, byte[] content)
    {
        if (fs is StagedGuestFileSystem staged)
        {
            staged.WriteFileOwned(path, content);
        }
        else
        {
            fs.WriteFile(path, content);
        }
    }

    private static string? AppendDrivers(IGuestFileSystem fs, string initramfsPath, byte[] original, KernelModules modules, InitramfsGenerator generator, IReadOnlyList<string> drivers, out byte[]? patched, out ISet<string> modulesAfter)
    {
        patched = null;
        var image = Diagnostics.StepTimings.Measure("patch: initramfs parse", () => Parse(original, initramfsPath, KeepForMerge));
        modulesAfter = image.ModuleNames();
        var missing = MissingDrivers(modulesAfter, modules, drivers);
        if (missing.Count == 0)
        {
            return null;
        }
        foreach (string driver in missing.Where(d => !modules.HasModule(d)))
        {
            throw new LinuxImageException(DiagnosticCatalog.HyperVModulesNotInstalled, modules.Directory, modules.Version, driver);
        }
        var present = image.ModuleNames();
        var toAdd = missing.SelectMany(modules.WithDependencies).Distinct(StringComparer.Ordinal)
            .Where(m => !present.Contains(m) && !modules.IsBuiltin(m)).ToList();

        var depEntry = image.Entries.LastOrDefault(e => e.IsRegular && e.NormalPath.EndsWith("modules/" + modules.Version + "/modules.dep", StringComparison.Ordinal));
        if (depEntry is null)
        {
            throw new LinuxImageException(DiagnosticCatalog.InitramfsCannotAppend, initramfsPath, initramfsPath, $"it has no modules/{modules.Version}/modules.dep, so it was not built for kernel {modules.Version} or keeps no module index");
        }
        string moduleDir = depEntry.NormalPath[..^"/modules.dep".Length];
        var existingDirs = new HashSet<string>(image.Entries.Where(e => e.IsDirectory || e.IsSymlink).Select(e => e.NormalPath.TrimEnd('/')), StringComparer.Ordinal);
        var entries = new List<CpioEntry>();
        void EnsureDir(string dir)
        {
            if (dir.Length == 0 || existingDirs.Contains(dir))
            {
                return;
            }
            int slash = dir.LastIndexOf('/');
            if (slash > 0)
            {
                EnsureDir(dir[..slash]);
            }
            existingDirs.Add(dir);
            entries.Add(new CpioEntry(dir, CpioEntry.DirectoryType | 0x1ED, 0, 0, 0, []));
        }
        void AddFile(string path, byte[] content)
        {
            int slash = path.LastIndexOf('/');
            if (slash > 0)
            {
                EnsureDir(path[..slash]);
            }
            entries.Add(new CpioEntry(path, CpioEntry.RegularType | 0x1A4, 0, 0, 0, content));
        }

        var merge = Diagnostics.StepTimings.Measure("patch: initramfs merge");
        var depLines = new StringBuilder(Encoding.UTF8.GetString(depEntry.Data));
        foreach (string module in toAdd)
        {
            string relative = modules.PathOf(module)!;
            byte[] content = GuestFiles.TryReadBytes(fs, modules.Directory + "/" + relative)
                ?? throw new LinuxImageException(DiagnosticCatalog.HyperVModulesNotInstalled, modules.Directory, modules.Version, module);
            AddFile(moduleDir + "/" + relative, content);
            if (depLines.Length > 0 && depLines[^1] != '\n')
            {
                depLines.Append('\n');
            }
            depLines.Append(modules.DependencyLine(module)).Append('\n');
        }
        AddFile(moduleDir + "/modules.dep", Encoding.UTF8.GetBytes(depLines.ToString()));
        AddFile(moduleDir + "/modules.dep.bin", KmodIndexWriter.FromModulesDep(depLines.ToString()));

        var aliasEntry = image.Find(moduleDir + "/modules.alias");
        if (aliasEntry is not null && modules.ModulesAliasText is not null)
        {
            var added = new HashSet<string>(toAdd, StringComparer.Ordinal);
            var aliases = new StringBuilder(Encoding.UTF8.GetString(aliasEntry.Data));
            foreach (string line in modules.ModulesAliasText.Split('\n'))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 3 && parts[0] == "alias" && added.Contains(parts[2].Replace('-', '_')))
                {
                    aliases.Append(line.Trim()).Append('\n');
                }
            }
            AddFile(moduleDir + "/modules.alias", Encoding.UTF8.GetBytes(aliases.ToString()));
            AddFile(moduleDir + "/modules.alias.bin", KmodIndexWriter.FromModulesAlias(aliases.ToString()));
        }

        string how;
        if (generator == InitramfsGenerator.InitramfsTools)
        {
            // initramfs-tools' init runs load_modules over /conf/modules before it looks for the root disk.
            string current = image.Find("conf/modules") is { } confModules ? Encoding.UTF8.GetString(confModules.Data) : string.Empty;
            if (current.Length > 0 && !current.EndsWith('\n'))
            {
                current += "\n";
            }
            AddFile("conf/modules", Encoding.UTF8.GetBytes(current + string.Concat(missing.Select(m => m + "\n"))));
            how = "conf/modules";
        }
        else
        {
            // dracut's cmdline hook modprobes rd.driver.pre early (with or without systemd);
            // systemd-modules-load reads modules-load.d in systemd-based dracut images.
            AddFile("etc/cmdline.d/90-azure-hyperv.conf", Encoding.UTF8.GetBytes("rd.driver.pre=" + string.Join(',', missing) + "\n"));
            AddFile("etc/modules-load.d/90-azure-hyperv.conf", Encoding.UTF8.GetBytes(string.Concat(missing.Select(m => m + "\n"))));
            how = "rd.driver.pre in etc/cmdline.d and etc/modules-load.d";
        }

        merge.Dispose();
        using var rebuild = Diagnostics.StepTimings.Measure("patch: initramfs rebuild");
        patched = Rebuild(original, image, entries, modules.ConfigOption("CONFIG_RD_GZIP") == 'y', out string placement);
        modulesAfter.UnionWith(entries.Where(e => e.IsRegular).Select(e => KernelModules.ModuleNameOf(e.NormalPath)).OfType<string>());
        return $"{initramfsPath}: {string.Join(", ", toAdd)} {placement} (loaded early through {how})";
    }

    private static byte[]? TryAppendInPlace(byte[] original, InitramfsSegment last, byte[] archive, out string placement)
    {
        try
        {
            return InitramfsAppender.TryAppend(original, last, archive, out placement);
        }
        catch (InvalidDataException)
        {
            // The reader has already decoded this segment and checked it: what the block-level
            // decoder refuses, recompressing the whole segment still handles.
            placement = string.Empty;
            return null;
        }
    }

    /// <summary>
    /// Adds the members to the last archive of the last segment, recompressed as it was: tools
    /// such as lsinitramfs, lsinitrd and unmkinitramfs read one compressed stream holding one
    /// archive, and the kernel extracts later members over earlier ones. The SDK has no xz
    /// encoder: an xz archive is recompressed with gzip when the kernel's config says it
    /// decompresses gzip (CONFIG_RD_GZIP=y); otherwise the members go into a separate uncompressed
    /// archive after it, which the kernel's initramfs buffer format allows but those tools do not show.
    /// </summary>
    private static byte[] Rebuild(byte[] original, InitramfsImage image, List<CpioEntry> entries, bool kernelReadsGzip, out string placement)
    {
        // Newer than everything else, so cpio -i (unmkinitramfs) also replaces the old indexes.
        long mtime = image.Entries.Count == 0 ? 1 : image.Entries.Max(e => e.MTime) + 1;
        var stamped = entries.Select(e => e with { MTime = mtime }).ToList();
        const int firstInode = 0x7A000000;
        var last = image.Segments[^1];
        var compression = last.Compression;
        if (!InitramfsCompressor.CanCompress(compression) && kernelReadsGzip)
        {
            compression = InitramfsCompression.Gzip;
        }
        byte[] archive = CpioNewc.Write(stamped, firstInode);
        if (compression == last.Compression && TryAppendInPlace(original, last, archive, out placement) is { } appendedInPlace)
        {
            return appendedInPlace;
        }
        if (InitramfsCompressor.CanCompress(compression))
        {
            byte[] plain = InitramfsReader.DecompressSegment(original, last);
            using var merged = new MemoryStream();
            merged.Write(plain, 0, checked((int)last.LastTrailerOffset));
            merged.Write(archive);
            while (merged.Length % 4 != 0)
            {
                merged.WriteByte(0);
            }
            byte[] segment = InitramfsCompressor.Compress(compression, merged.ToArray());
            byte[] result = new byte[last.Offset + segment.Length];
            original.AsSpan(0, (int)last.Offset).CopyTo(result);
            segment.CopyTo(result, (int)last.Offset);
            placement = compression == InitramfsCompression.None
                ? "added to its last archive"
                : compression == last.Compression
                    ? $"added to its {compression.ToString().ToLowerInvariant()} archive (recompressed)"
                    : $"added to its {last.Compression.ToString().ToLowerInvariant()} archive (recompressed with gzip, which the kernel reads; the SDK has no {last.Compression.ToString().ToLowerInvariant()} encoder)";
            return result;
        }
        byte[] appended = archive;
        int padding = (4 - (original.Length % 4)) % 4;
        byte[] patched = new byte[original.Length + padding + appended.Length];
        original.CopyTo(patched, 0);
        appended.CopyTo(patched, original.Length + padding);
        placement = "appended as an uncompressed archive after its " + last.Compression.ToString().ToLowerInvariant() + " segment";
        return patched;
    }
}
