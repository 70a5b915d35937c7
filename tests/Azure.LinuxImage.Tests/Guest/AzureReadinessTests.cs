using System.Text.Json;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.Guest.Agent;
using Azure.LinuxImage.Engine.Guest.Distributions;
using Azure.LinuxImage.Engine.Guest.Initramfs;
using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Engine.Settings;
using Azure.LinuxImage.Engine.Validation;
using Azure.LinuxImage.Engine.Validation.Guest;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Guest;

/// <summary>
/// Issue 16 on real guest trees: the sample's Debian 12 root (waagent 2.7.3.0 whose waagent.conf
/// names cloud-init, no cloud-init), the same root with Debian's cloud-init and chrony installed by
/// apt, and RHEL- and SUSE-style kernel module trees made by the real depmod from the Debian
/// kernel's real modules. Judges: the guest's own WALinuxAgent configuration code and cloud-init's
/// configuration reader (run from the guest's Python packages), modprobe, lsinitramfs.
/// Every write stays in a staged view; the cached trees are never changed.
/// </summary>
[TestClass]
public sealed class AzureReadinessTests
{
    private static StagedGuestFileSystem Stock() => new(new HostDirectoryGuestFileSystem(SampleDisk.RootTree));

    private static StagedGuestFileSystem WithCloudInit() => new(new HostDirectoryGuestFileSystem(CloudInitRoot.Path));

    private static GuestPatchOptions Project(params (string Key, string Value)[] settings) => new()
    {
        WaagentSettings = settings.Aggregate(new ImageSettings(), (all, s) => all.Add(SettingCatalog.WaagentSetting, s.Value, s.Key)).Pairs(SettingCatalog.WaagentSetting),
    };

    private static List<RuleOutcome> Validate(IGuestFileSystem fs, GuestPatchOptions options) => [.. GuestValidator.Validate(fs, GuestValidationOptions.From(options))];

    private static string Sh(string script, string? cwd = null)
    {
        var r = ExternalTool.Run("bash", ["-euo", "pipefail", "-c", script], cwd);
        Assert.AreEqual(0, r.ExitCode, script + "\n" + r.All);
        return r.StdOut;
    }

    /// <summary>What the guest's own WALinuxAgent makes of a waagent.conf: provisioning agent, ResourceDisk.Format, EnableSwap.</summary>
    private static string AgentReads(string root, IGuestFileSystem guest)
    {
        using var tmp = new TempDir("waagent-conf");
        File.WriteAllText(tmp["waagent.conf"], GuestFiles.TryReadText(guest, WaagentConf.DefaultPath)!);
        return Sh($"""
            PYTHONPATH='{root}/usr/lib/python3/dist-packages' python3 -c '
            import azurelinuxagent.common.conf as conf
            c = conf.ConfigurationProvider()
            conf.load_conf_from_file("{tmp["waagent.conf"]}", c)
            print(conf.get_provisioning_agent(c), conf.get_resourcedisk_format(c), conf.get_resourcedisk_enable_swap(c))'
            """).Trim();
    }

    /// <summary>
    /// cloud-init's own reading, from the guest's cloud-init package: the datasource_list of its merge
    /// of /etc/cloud (cloud.cfg and cloud.cfg.d, staged edits included; null when none sets it), its
    /// built-in default list, and the disks its Azure datasource partitions and formats by itself.
    /// </summary>
    private static (string[]? Configured, string[] BuiltIn, string[] AzureFormats) CloudInitReads(string root, IGuestFileSystem guest)
    {
        using var tmp = new TempDir("cloud-cfg");
        Sh($"cp -a '{root}/etc/cloud' '{tmp.Path}/cloud'");
        foreach (var entry in guest.ListDirectory("/etc/cloud/cloud.cfg.d"))
        {
            File.WriteAllBytes(Path.Combine(tmp.Path, "cloud", "cloud.cfg.d", GuestPath.GetFileName(entry.Path)), guest.ReadFile(entry.Path));
        }
        string[] lines = Sh($"""
            PYTHONPATH='{root}/usr/lib/python3/dist-packages' python3 -c '
            import json
            from cloudinit import settings, util
            from cloudinit.sources import DataSourceAzure
            print(json.dumps(util.read_conf_with_confd("{tmp.Path}/cloud/cloud.cfg").get("datasource_list")))
            print(json.dumps(settings.CFG_BUILTIN["datasource_list"]))
            print(json.dumps(sorted(DataSourceAzure.BUILTIN_CLOUD_EPHEMERAL_DISK_CONFIG["disk_setup"])))'
            """).Trim().Split('\n');
        return (JsonSerializer.Deserialize<string[]?>(lines[0]), JsonSerializer.Deserialize<string[]>(lines[1])!, JsonSerializer.Deserialize<string[]>(lines[2])!);
    }

    // ---- Provisioning that works by default ------------------------------------------------

    [TestMethod]
    public void Debian_with_waagent_alone_is_provisioned_by_the_agent_by_default_and_the_agent_reads_it_so()
    {
        var guest = Stock();
        var options = new GuestPatchOptions();
        Assert.AreEqual("cloud-init True False", AgentReads(SampleDisk.RootTree, guest), "the stock package's configuration");
        Assert.AreEqual("LIMG0502", Validate(guest, options).Single(o => o.RuleId == "provisioning").Code, "as it is, nothing provisions");

        var result = GuestPatcher.Patch(guest, options);
        var chosen = result.Diagnostics.Single(d => d.Code == "LIMG0550");
        Assert.AreEqual(DiagnosticSeverity.Info, chosen.Severity);
        StringAssert.Contains(chosen.Message, "Provisioning.Agent=cloud-init");
        StringAssert.Contains(chosen.Message, "Provisioning.Agent=auto (WALinuxAgent 2.7.3.0 supports auto since 2.2.45");
        Assert.IsFalse(result.Diagnostics.Any(d => d.Code == "LIMG0551"), "waagent provisions: the article's resource disk");
        Assert.AreEqual("auto True True", AgentReads(SampleDisk.RootTree, guest));

        var after = Validate(guest, options);
        Assert.IsEmpty(after.Where(o => !o.Passed && o.Severity == DiagnosticSeverity.Error), string.Join("\n", after.Where(o => !o.Passed).Select(o => $"{o.Code} {o.Message}")));
        StringAssert.StartsWith(after.Single(o => o.RuleId == "provisioning").Message, "The Azure Linux Agent provisions the VM (Provisioning.Agent=auto)");
        Assert.IsEmpty(GuestPatcher.Patch(guest, options).Actions, "idempotent");
    }

    [TestMethod]
    [DataRow("cloud-init", "cloud-init True True")]
    [DataRow("waagent", "waagent True True")]
    public void A_project_setting_for_Provisioning_Agent_wins(string agent, string agentReads)
    {
        var guest = Stock();
        var options = Project(("Provisioning.Agent", agent));
        var result = GuestPatcher.Patch(guest, options);
        Assert.IsFalse(result.Diagnostics.Any(d => d.Code == "LIMG0550"), "the project decided");
        Assert.AreEqual(agentReads, AgentReads(SampleDisk.RootTree, guest));
        var provisioning = Validate(guest, options).Single(o => o.RuleId == "provisioning");
        if (agent == "cloud-init")
        {
            Assert.AreEqual("LIMG0502", provisioning.Code);
            StringAssert.Contains(provisioning.Message, "cloud-init is not installed");
        }
        else
        {
            Assert.IsTrue(provisioning.Passed, provisioning.Message);
        }
    }

    [TestMethod]
    public void With_cloud_init_installed_it_keeps_provisioning_and_owns_the_resource_disk()
    {
        var guest = WithCloudInit();
        var options = new GuestPatchOptions();
        var cloudInit = CloudInitReads(CloudInitRoot.Path, guest);
        // Debian's package sets no datasource_list: cloud-init's built-in list applies, and it has Azure.
        Assert.IsNull(cloudInit.Configured);
        Assert.IsNull(CloudInitConfig.Read(guest).DatasourceList, "our reading equals cloud-init's");
        CollectionAssert.Contains(cloudInit.BuiltIn, "Azure");
        // What LIMG0551/0552 rest on: cloud-init's Azure datasource formats the resource disk itself.
        CollectionAssert.AreEqual(new[] { "ephemeral0" }, cloudInit.AzureFormats);

        var result = GuestPatcher.Patch(guest, options);
        Assert.IsFalse(result.Diagnostics.Any(d => d.Code == "LIMG0550"), "the named agent (cloud-init) is installed");
        var resourceDisk = result.Diagnostics.Single(d => d.Code == "LIMG0551");
        StringAssert.Contains(resourceDisk.Message, "ResourceDisk.Format=n and ResourceDisk.EnableSwap=n");
        Assert.AreEqual("cloud-init False False", AgentReads(CloudInitRoot.Path, guest));

        var after = Validate(guest, options);
        Assert.IsEmpty(after.Where(o => !o.Passed && o.Severity == DiagnosticSeverity.Error), string.Join("\n", after.Where(o => !o.Passed).Select(o => $"{o.Code} {o.Message}")));
        StringAssert.StartsWith(after.Single(o => o.RuleId == "provisioning").Message, "cloud-init provisions the VM");
        Assert.IsTrue(after.Single(o => o.RuleId == "resource-disk").Passed);
        Assert.IsEmpty(GuestPatcher.Patch(guest, options).Actions, "idempotent");
    }

    [TestMethod]
    public void A_project_that_gives_the_resource_disk_to_waagent_under_cloud_init_is_obeyed_and_warned()
    {
        var guest = WithCloudInit();
        var options = Project(("ResourceDisk.Format", "y"), ("ResourceDisk.EnableSwap", "y"));
        var result = GuestPatcher.Patch(guest, options);
        Assert.IsFalse(result.Diagnostics.Any(d => d.Code == "LIMG0551"), "the project decided");
        Assert.AreEqual("cloud-init True True", AgentReads(CloudInitRoot.Path, guest));
        var after = Validate(guest, options).Where(o => !o.Passed).ToList();
        var twice = after.Single(o => o.Code == "LIMG0552");
        Assert.AreEqual(DiagnosticSeverity.Warning, twice.Severity);
        StringAssert.Contains(twice.Message, "ResourceDisk.Format=y and ResourceDisk.EnableSwap=y");
        Assert.IsFalse(after.Any(o => o.Code == "LIMG0422"), "waagent.conf is what the project asked for");
    }

    [TestMethod]
    public void Cloud_init_without_Azure_in_its_datasource_list_is_reported_not_guessed_around()
    {
        var guest = WithCloudInit();
        // Block form, as a user would write it; a later file in cloud.cfg.d replaces the list.
        GuestFiles.WriteText(guest, "/etc/cloud/cloud.cfg.d/99_limg_test.cfg", "# only local data\ndatasource_list:\n  - NoCloud   # seed\n  - 'None'\n");
        CollectionAssert.AreEqual(new[] { "NoCloud", "None" }, CloudInitReads(CloudInitRoot.Path, guest).Configured);
        CollectionAssert.AreEqual(new[] { "NoCloud", "None" }, CloudInitConfig.Read(guest).DatasourceList!.ToArray());

        var options = new GuestPatchOptions();
        var result = GuestPatcher.Patch(guest, options);
        Assert.IsFalse(result.Diagnostics.Any(d => d.Code == "LIMG0550"), "cloud-init is installed: the SDK does not second-guess it");
        var provisioning = Validate(guest, options).Single(o => o.RuleId == "provisioning");
        Assert.AreEqual("LIMG0502", provisioning.Code);
        StringAssert.Contains(provisioning.Message, "99_limg_test.cfg: NoCloud, None) leaves out Azure");
    }

    [TestMethod]
    public void Cloud_init_turned_off_is_reported_and_the_agent_provisions_when_auto()
    {
        var guest = WithCloudInit();
        GuestFiles.WriteText(guest, "/etc/cloud/cloud-init.disabled", string.Empty);
        var asIs = Validate(guest, new GuestPatchOptions()).Single(o => o.RuleId == "provisioning");
        Assert.AreEqual("LIMG0502", asIs.Code);
        StringAssert.Contains(asIs.Message, "/etc/cloud/cloud-init.disabled turns cloud-init off");
        var options = Project(("Provisioning.Agent", "auto"));
        GuestPatcher.Patch(guest, options);
        Assert.AreEqual("auto True True", AgentReads(CloudInitRoot.Path, guest), "waagent provisions, so the resource disk is the agent's");
        Assert.IsTrue(Validate(guest, options).Single(o => o.RuleId == "provisioning").Passed);
    }

    [TestMethod]
    public void With_neither_agent_installed_nothing_provisions_and_the_sdk_chooses_nothing()
    {
        var guest = Stock();
        guest.Delete("/usr/sbin/waagent");
        var result = GuestPatcher.Patch(guest, new GuestPatchOptions());
        Assert.IsFalse(result.Diagnostics.Any(d => d.Code == "LIMG0550"));
        var failures = Validate(guest, new()).Where(o => !o.Passed).ToList();
        Assert.AreEqual("LIMG0460", failures.Single(o => o.RuleId == "R9.agent").Code);
        var provisioning = failures.Single(o => o.RuleId == "provisioning");
        Assert.AreEqual("LIMG0502", provisioning.Code);
        Assert.AreEqual(DiagnosticSeverity.Error, provisioning.Severity);
        StringAssert.Contains(provisioning.Message, "the Azure Linux Agent is not installed and cloud-init is not installed either");
    }

    // ---- What current VM sizes need ---------------------------------------------------------

    [TestMethod]
    public void Chrony_as_debian_installs_it_is_reported_until_it_reads_the_hyper_v_clock()
    {
        var guest = WithCloudInit();
        var outcome = Validate(guest, new()).Single(o => o.RuleId == "azure.time-sync");
        Assert.AreEqual("LIMG0556", outcome.Code);
        StringAssert.Contains(outcome.Message, "chrony (/etc/chrony/chrony.conf) has no PHC reference clock");

        // Debian's chrony.conf reads confdir /etc/chrony/conf.d: a drop-in there is what chronyd reads.
        StringAssert.Contains(File.ReadAllText(Path.Combine(CloudInitRoot.Path, "etc/chrony/chrony.conf")), "confdir /etc/chrony/conf.d");
        GuestFiles.WriteText(guest, "/etc/chrony/conf.d/azure.conf", "refclock PHC /dev/ptp_hyperv poll 3 dpoll -2 offset 0 stratum 2\n");
        var fixedOutcome = Validate(guest, new()).Single(o => o.RuleId == "azure.time-sync");
        Assert.IsTrue(fixedOutcome.Passed, fixedOutcome.Message);
        // systemd's own rule names the clock.
        StringAssert.Contains(fixedOutcome.Message, "/usr/lib/udev/rules.d/50-udev-default.rules");

        // ptp0 can be the NIC's clock on accelerated networking sizes.
        GuestFiles.WriteText(guest, "/etc/chrony/conf.d/azure.conf", "refclock PHC /dev/ptp0 poll 3 dpoll -2 offset 0\n");
        StringAssert.Contains(Validate(guest, new()).Single(o => o.RuleId == "azure.time-sync").Message, "refclock PHC /dev/ptp0");
    }

    [TestMethod]
    public void Stock_debian_without_chrony_is_warned_and_has_the_agents_disk_rules()
    {
        var outcomes = Validate(Stock(), new());
        var time = outcomes.Single(o => o.RuleId == "azure.time-sync");
        Assert.AreEqual(DiagnosticSeverity.Warning, time.Severity);
        StringAssert.Contains(time.Message, "chrony is not installed, nor any other time service");
        var disks = outcomes.Single(o => o.RuleId == "azure.disk-names");
        Assert.IsTrue(disks.Passed, disks.Message);
        StringAssert.Contains(disks.Message, "66-azure-storage.rules");
        // The agent's rules name SCSI disks only: an NVMe image is told so.
        var nvme = Validate(Stock(), new GuestPatchOptions { AzureDiskController = AzureDiskController.NVMe }).Single(o => o.RuleId == "azure.disk-names");
        Assert.AreEqual("LIMG0557", nvme.Code);
        StringAssert.Contains(nvme.Message, "for NVMe disks (/usr/lib/udev/rules.d/66-azure-storage.rules name SCSI disks only)");
    }

    [TestMethod]
    public void The_real_debian_kernel_has_every_accelerated_networking_driver_as_modprobe_finds_them()
    {
        var guest = Stock();
        string kernel = HyperVInitramfs.FindKernels(guest)[^1].Version;
        var outcomes = Validate(guest, new()).Where(o => o.RuleId == "azure.accelerated-networking").ToList();
        Assert.HasCount(3, outcomes);
        Assert.IsTrue(outcomes.All(o => o.Passed), string.Join("\n", outcomes.Select(o => o.Message)));
        foreach (string driver in new[] { "mlx4_en", "mlx5_core", "mana" })
        {
            var judge = ExternalTool.Run("modprobe", ["-d", SampleDisk.RootTree, "-S", kernel, "--show-depends", driver]);
            Assert.AreEqual(0, judge.ExitCode, judge.All);
            StringAssert.Contains(judge.StdOut, driver + ".ko");
        }
    }

    /// <summary>
    /// Other families' layouts, made by the real depmod from the Debian kernel's real modules:
    /// RHEL 9 (merged /usr, xz modules, no mana in this kernel) and SLES 15 (/lib/modules, zstd,
    /// mana built in, no mlx4). Our verdict must agree with modprobe's on every driver.
    /// </summary>
    [TestMethod]
    [DataRow("rhel9", GuestFixtures.Rhel9Kernel, "xz", "mlx4_en,mlx5_core", "", "mana")]
    [DataRow("sles15", GuestFixtures.SuseKernel, "zst", "mlx5_core", "mana", "mlx4_en")]
    public void Module_trees_of_other_families_built_by_depmod(string family, string kernel, string compression, string modules, string builtin, string missing)
    {
        using var tmp = new TempDir("modtree-" + family);
        string root = tmp.Path;
        // Both families merge /usr: /lib is a link to usr/lib, where depmod and modprobe -d then find the tree.
        Directory.CreateDirectory(Path.Combine(root, "usr/lib/modules"));
        File.CreateSymbolicLink(Path.Combine(root, "lib"), "usr/lib");
        const string moduleBase = "usr/lib/modules";
        var fs = family == "rhel9" ? (InMemoryGuestFileSystem)GuestFixtures.Rhel9() : GuestFixtures.Sles15();
        string debianRoot = SampleDisk.RootTree;
        string debianKernel = HyperVInitramfs.FindKernels(new HostDirectoryGuestFileSystem(debianRoot))[^1].Version;
        string debianModules = Path.Combine(debianRoot, "lib/modules", debianKernel);
        var debianDeps = KernelModules.ParseModulesDep(File.ReadAllText(Path.Combine(debianModules, "modules.dep")))
            .ToDictionary(d => KernelModules.ModuleNameOf(d.Path)!, d => d, StringComparer.Ordinal);
        string target = Path.Combine(root, moduleBase, kernel);
        var copied = new HashSet<string>(StringComparer.Ordinal);
        void Copy(string relative)
        {
            if (!copied.Add(relative))
            {
                return;
            }
            string destination = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(Path.Combine(debianModules, relative), destination);
            Sh(compression == "xz" ? $"xz --check=crc32 '{destination}'" : $"zstd -q --rm '{destination}'");
            foreach (string dependency in debianDeps[KernelModules.ModuleNameOf(relative)!].Dependencies)
            {
                Copy(dependency);
            }
        }
        foreach (string module in modules.Split(','))
        {
            Copy(debianDeps[module].Path);
        }
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "modules.builtin"), "kernel/fs/ext4/ext4.ko\n" + string.Concat(builtin.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(b => $"kernel/drivers/net/ethernet/microsoft/{b}/{b}.ko\n")));
        Sh($"depmod -b '{root}' '{kernel}'");

        // The module tree depmod made replaces the fixture's, file by file (modules.dep now names .ko.xz / .ko.zst).
        foreach (string file in Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories))
        {
            fs.AddBytes("/" + Path.GetRelativePath(root, file).Replace('\\', '/'), File.ReadAllBytes(file));
        }
        StringAssert.Contains(File.ReadAllText(Path.Combine(target, "modules.dep")), compression == "xz" ? "mlx5_core.ko.xz:" : "mlx5_core.ko.zst:");

        var context = new GuestValidationContext(fs, new(), GuestDistribution.Detect(fs));
        var outcomes = new AcceleratedNetworkingRule().Check(context).ToList();
        foreach (var (driver, _, families) in AcceleratedNetworkingRule.Drivers)
        {
            var outcome = outcomes.Single(o => o.Message.Contains(driver, StringComparison.Ordinal));
            var judge = ExternalTool.Run("modprobe", ["-d", root, "-S", kernel, "--show-depends", driver]);
            Assert.AreEqual(judge.ExitCode == 0, outcome.Passed, $"{family} {driver}: ours says {outcome.Message}; modprobe says {judge.All}");
            if (driver == missing)
            {
                Assert.AreEqual("LIMG0555", outcome.Code);
                Assert.AreEqual(DiagnosticSeverity.Warning, outcome.Severity);
                StringAssert.Contains(outcome.Message, families);
            }
            if (builtin == driver)
            {
                StringAssert.Contains(judge.StdOut, "builtin " + driver);
                StringAssert.Contains(outcome.Message, "(built in)");
            }
        }
    }

    [TestMethod]
    public void Chrony_and_udev_as_rhel_and_suse_lay_them_out()
    {
        string agentRules = File.ReadAllText(Path.Combine(SampleDisk.RootTree, "usr/lib/udev/rules.d/66-azure-storage.rules"));
        const string ptpRule = "SUBSYSTEM==\"ptp\", ATTR{clock_name}==\"hyperv\", SYMLINK += \"ptp_hyperv\"\n";

        // RHEL 9: chrony's /etc/chrony.conf as shipped, WALinuxAgent-udev's rules under /usr/lib.
        var rhel = GuestFixtures.Rhel9()
            .Add("/usr/sbin/chronyd", "ELF", 0x1ED)
            .Add("/etc/chrony.conf", "# Use public servers from the pool.ntp.org project.\npool 2.rhel.pool.ntp.org iburst\nsourcedir /run/chrony-dhcp\ndriftfile /var/lib/chrony/drift\nmakestep 1.0 3\nrtcsync\nkeyfile /etc/chrony.keys\nntsdumpdir /var/lib/chrony\nleapsectz right/UTC\nlogdir /var/log/chrony\n")
            .Add("/usr/lib/udev/rules.d/66-azure-storage.rules", agentRules)
            .Add("/usr/lib/udev/rules.d/50-udev-default.rules", ptpRule);
        var rhelOutcomes = GuestValidator.Validate(rhel, new()).ToList();
        StringAssert.Contains(rhelOutcomes.Single(o => o.RuleId == "azure.time-sync").Message, "chrony (/etc/chrony.conf) has no PHC reference clock");
        Assert.IsTrue(rhelOutcomes.Single(o => o.RuleId == "azure.disk-names").Passed);
        rhel.Add("/etc/chrony.conf", "pool 2.rhel.pool.ntp.org iburst\n! refclock PHC /dev/ptp_hyperv\nrefclock PHC /dev/ptp_hyperv poll 3 dpoll -2 offset 0\n");
        Assert.IsTrue(GuestValidator.Validate(rhel, new()).Single(o => o.RuleId == "azure.time-sync").Passed);

        // SLES 15: /etc/chrony.conf includes /etc/chrony.d/*.conf; no agent udev rules, and no rule names ptp_hyperv.
        var sles = GuestFixtures.Sles15()
            .Add("/usr/sbin/chronyd", "ELF", 0x1ED)
            .Add("/etc/chrony.conf", "# Sources\ninclude /etc/chrony.d/*.conf\ndriftfile /var/lib/chrony/drift\n")
            .Add("/etc/chrony.d/pool.conf", "pool suse.pool.ntp.org iburst\n")
            .Add("/etc/chrony.d/azure.conf", "refclock PHC /dev/ptp_hyperv:nocrossts poll 3 dpoll -2 offset 0\n");
        var slesOutcomes = GuestValidator.Validate(sles, new()).ToList();
        var slesTime = slesOutcomes.Single(o => o.RuleId == "azure.time-sync");
        Assert.AreEqual("LIMG0556", slesTime.Code);
        StringAssert.Contains(slesTime.Message, "chrony (/etc/chrony.d/azure.conf) reads /dev/ptp_hyperv but no udev rule creates it");
        Assert.AreEqual("LIMG0557", slesOutcomes.Single(o => o.RuleId == "azure.disk-names").Code);
        sles.Add("/etc/udev/rules.d/99-ptp-hyperv.rules", ptpRule);
        Assert.IsTrue(GuestValidator.Validate(sles, new()).Single(o => o.RuleId == "azure.time-sync").Passed);
    }

    /// <summary>
    /// AzureDiskController=NVMe on the real initramfs rebuilt without nvme (as a KVM-made one might
    /// be): the patch adds nvme with its dependencies, judged by lsinitramfs and modprobe; without
    /// the setting nvme is not added and stays a warning.
    /// </summary>
    [TestMethod]
    public void Nvme_controller_puts_nvme_into_the_real_initramfs_and_only_then()
    {
        var guest = Stock();
        string kernel = HyperVInitramfs.FindKernels(guest)[^1].Version;
        string initrd = $"/boot/initrd.img-{kernel}";
        using var tmp = new TempDir("nvme-initrd");
        File.WriteAllBytes(tmp["original.img"], guest.ReadFile(initrd));
        Sh($"""
            unmkinitramfs original.img x
            if [ -d x/main ]; then cd x/main; else cd x; fi
            rm -rf usr/lib/modules/{kernel}/kernel/drivers/nvme
            depmod -b usr {kernel}
            find . | LC_ALL=C sort | cpio -o -H newc --quiet | zstd -q -c > '{tmp["stripped.img"]}'
            """, tmp.Path);
        guest.WriteFile(initrd, File.ReadAllBytes(tmp["stripped.img"]));

        var any = new GuestPatchOptions { Deprovision = false };
        GuestPatcher.Patch(guest, any);
        var warning = Validate(guest, any).Single(o => o.RuleId == "nvme.initramfs");
        Assert.AreEqual("LIMG0510", warning.Code);
        Assert.AreEqual(DiagnosticSeverity.Warning, warning.Severity);

        var nvme = any with { AzureDiskController = AzureDiskController.NVMe };
        var result = GuestPatcher.Patch(guest, nvme);
        StringAssert.Contains(string.Join("\n", result.Actions), "nvme");
        Assert.IsTrue(Validate(guest, nvme).Single(o => o.RuleId == "nvme.initramfs").Passed);
        StringAssert.Contains(GuestFiles.TryReadText(guest, HyperVInitramfs.InitramfsToolsModulesPath)!, "\nnvme\n");

        File.WriteAllBytes(tmp["patched.img"], guest.ReadFile(initrd));
        StringAssert.Contains(ExternalTool.Run("lsinitramfs", [tmp["patched.img"]]).StdOut, $"usr/lib/modules/{kernel}/kernel/drivers/nvme/host/nvme.ko");
        Sh("unmkinitramfs patched.img y", tmp.Path);
        string main = Directory.Exists(tmp["y/main"]) ? tmp["y/main"] : tmp["y"];
        var deps = ExternalTool.Run("modprobe", ["-d", Path.Combine(main, "usr"), "-S", kernel, "--show-depends", "nvme"]);
        Assert.AreEqual(0, deps.ExitCode, deps.All);
        StringAssert.Contains(deps.StdOut, "nvme-core.ko");
        StringAssert.Contains(File.ReadAllText(Path.Combine(main, "conf/modules")), "nvme\n");
    }

    // ---- The parsers, on the forms the distributions write ----------------------------------

    [TestMethod]
    public void Datasource_lists_in_flow_and_block_form()
    {
        CollectionAssert.AreEqual(new[] { "NoCloud", "ConfigDrive", "Azure", "None" },
            CloudInitConfig.ParseDatasourceList("datasource_list: [ NoCloud, ConfigDrive,\n   Azure, None ]  # debconf\n")!.ToArray());
        CollectionAssert.AreEqual(new[] { "Azure" }, CloudInitConfig.ParseDatasourceList("datasource_list: [ 'Azure' ]\n")!.ToArray());
        CollectionAssert.AreEqual(new[] { "Azure", "None" }, CloudInitConfig.ParseDatasourceList("datasource_list:\n- Azure\n\n- None\nreporting: {}\n")!.ToArray());
        Assert.IsNull(CloudInitConfig.ParseDatasourceList("# datasource_list: [ NoCloud ]\ndatasource:\n  Azure:\n    apply_network_config: true\n"));
    }

    [TestMethod]
    [DataRow("2.2.44", "Provisioning.Enabled=n\nProvisioning.UseCloudInit=y\n", "Provisioning.Enabled=y and Provisioning.UseCloudInit=n")]
    [DataRow("2.2.45", "Provisioning.Agent=cloud-init\n", "Provisioning.Agent=auto")]
    [DataRow(null, "Provisioning.Agent=cloud-init\n", "Provisioning.Agent=waagent")]
    public void The_agent_version_decides_how_waagent_is_put_in_charge(string? version, string conf, string expected)
    {
        var fs = GuestFixtures.Debian12().Add("/etc/waagent.conf", conf);
        if (version is not null)
        {
            fs.Add("/usr/lib/python3/dist-packages/azurelinuxagent/common/version.py", $"AGENT_NAME = 'WALinuxAgent'\nAGENT_VERSION = '{version}'\n");
        }
        var plan = ProvisioningPlan.For(fs, []);
        StringAssert.Contains(plan.Diagnostics.Single(d => d.Code == "LIMG0550").Message, expected);
        Assert.AreEqual(Provisioner.Waagent, plan.Provisioner);
        Assert.AreEqual(Provisioner.Nothing, ProvisioningPlan.AsIs(fs).Provisioner);
    }
}
