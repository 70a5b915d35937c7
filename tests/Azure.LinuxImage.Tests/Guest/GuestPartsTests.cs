using Azure.LinuxImage.Engine.Validation;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.Guest.Agent;
using Azure.LinuxImage.Engine.Guest.Deprovision;
using Azure.LinuxImage.Engine.Guest.Distributions;
using Azure.LinuxImage.Engine.Guest.Fstab;
using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Engine.Validation.Guest;

namespace Azure.LinuxImage.Tests.Guest;

[TestClass]
public sealed class GuestPartsTests
{
    [TestMethod]
    public void Distributions_are_detected_for_every_family()
    {
        var diagnostics = new List<Diagnostic>();
        Assert.AreEqual((DistributionFamily.Debian, InitramfsGenerator.InitramfsTools), Detect(GuestFixtures.Debian12()));
        Assert.AreEqual((DistributionFamily.Rhel, InitramfsGenerator.Dracut), Detect(GuestFixtures.Rhel9()));
        Assert.AreEqual((DistributionFamily.Suse, InitramfsGenerator.Dracut), Detect(GuestFixtures.Sles15()));
        var el6 = GuestDistribution.Detect(GuestFixtures.CentOs6(), diagnostics);
        Assert.AreEqual(DistributionFamily.El6, el6.Family);
        Assert.AreEqual("6.5", el6.VersionId);
        Assert.AreEqual("LIMG0401", diagnostics.Single().Code);
        var ubuntu = new InMemoryGuestFileSystem().Add("/usr/lib/os-release", "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n").Link("/etc/os-release", "../usr/lib/os-release");
        Assert.AreEqual(DistributionFamily.Debian, GuestDistribution.Detect(ubuntu).Family);
        var rocky = new InMemoryGuestFileSystem().Add("/etc/os-release", "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"8.9\"\n");
        Assert.AreEqual(DistributionFamily.Rhel, GuestDistribution.Detect(rocky).Family);

        static (DistributionFamily, InitramfsGenerator) Detect(IGuestFileSystem fs)
        {
            var d = GuestDistribution.Detect(fs);
            return (d.Family, d.InitramfsGenerator);
        }
    }

    [TestMethod]
    public void Os_release_values_are_unquoted_like_the_shell_does()
    {
        var r = OsRelease.Parse("PRETTY_NAME=\"Fancy \\\"Linux\\\" 1\"\nID='fancy'\nVERSION_ID=1.2\n# comment\n");
        Assert.AreEqual("Fancy \"Linux\" 1", r.PrettyName);
        Assert.AreEqual("fancy", r.Id);
        Assert.AreEqual("1.2", r.VersionId);
    }

    [TestMethod]
    public void Waagent_conf_is_edited_in_place_keeping_comments_and_order()
    {
        var conf = WaagentConf.Parse("/etc/waagent.conf", GuestFixtures.WaagentConfDebian + "# ResourceDisk.MountOptions=None\n");
        Assert.IsTrue(conf.Set("ResourceDisk.Format", "y"));
        Assert.IsFalse(conf.Set("ResourceDisk.Filesystem", "ext4"));
        Assert.IsTrue(conf.Set("ResourceDisk.MountOptions", "noatime"));
        Assert.IsTrue(conf.Set("OS.EnableRDMA", "y"));
        string text = conf.ToString();
        StringAssert.Contains(text, "# Format if unformatted. If 'n', resource disk will not be mounted.\nResourceDisk.Format=y\n");
        StringAssert.Contains(text, "# ResourceDisk.MountOptions=None\nResourceDisk.MountOptions=noatime\n");
        StringAssert.EndsWith(text, "OS.EnableRDMA=y\n");
        Assert.AreEqual(GuestFixtures.WaagentConfDebian.Split('\n').Length + 3, text.Split('\n').Length);
    }

    [TestMethod]
    public void Waagent_conf_values_are_read_as_the_agent_reads_them()
    {
        var conf = WaagentConf.Parse("/etc/waagent.conf", "ResourceDisk.SwapSizeMB=2048 # size\nProvisioning.Agent=\"cloud-init\"\n");
        Assert.AreEqual("2048", conf.Get("ResourceDisk.SwapSizeMB"));
        Assert.AreEqual("cloud-init", conf.Get("Provisioning.Agent"));
        Assert.IsTrue(conf.Set("ResourceDisk.SwapSizeMB", "4096"));
        Assert.AreEqual("ResourceDisk.SwapSizeMB=4096 # size\nProvisioning.Agent=\"cloud-init\"\n", conf.ToString());
    }

    [TestMethod]
    public void Waagent_conf_with_duplicate_keys_is_refused()
    {
        var conf = WaagentConf.Parse("/etc/waagent.conf", "A=1\nB=2\n  A=3\n");
        var ex = Assert.ThrowsExactly<LinuxImageException>(() => conf.Set("B", "5"));
        Assert.AreEqual("LIMG0420", ex.Descriptor.Code);
        StringAssert.Contains(ex.Message, "lines 1, 3");
    }

    [TestMethod]
    public void Fstab_swap_lines_are_commented_out_once_and_sd_names_are_found()
    {
        string fstab = "UUID=1 / ext4 defaults 0 1\n/dev/sda2 none swap sw 0 0\n/swapfile none swap sw 0 0\n/dev/sdb1 /data ext4 defaults 0 2\n";
        var (text, disabled) = FstabFile.DisableSwap(fstab);
        Assert.HasCount(2, disabled);
        Assert.IsTrue(disabled[0].IsSwapPartition);
        Assert.IsFalse(disabled[1].IsSwapPartition);
        StringAssert.Contains(text, FstabFile.DisabledMarker + "\n#/dev/sda2 none swap sw 0 0\n");
        Assert.IsEmpty(FstabFile.Parse(text).Where(e => e.IsSwap));
        Assert.AreEqual(text, FstabFile.DisableSwap(text).Text);
        Assert.AreEqual("/dev/sdb1", FstabFile.Parse(text).Single(e => e.UsesSdDeviceName).Spec);
    }

    [TestMethod]
    public void Deprovisioning_leaves_nothing_and_keeps_a_managed_resolv_conf()
    {
        var fs = GuestFixtures.Debian12();
        Assert.IsNotEmpty(GuestDeprovisioner.Leftovers(fs));
        GuestDeprovisioner.Run(fs, null);
        Assert.IsEmpty(GuestDeprovisioner.Leftovers(fs));
        Assert.AreEqual(GuestFileKind.Symlink, fs.Stat("/etc/resolv.conf")!.Kind);
        Assert.AreEqual(GuestFileKind.File, fs.Stat("/etc/machine-id")!.Kind);
        Assert.AreEqual(0L, fs.Stat("/etc/machine-id")!.Size);
        Assert.AreEqual(0x124, fs.Stat("/etc/machine-id")!.Mode);
        StringAssert.StartsWith(fs.Text("/etc/shadow"), "root:*LOCK*:19700:0:99999:7:::\n");
        Assert.IsNotNull(fs.Stat("/var/lib/waagent"), "the directory stays, only its contents go");
        Assert.AreEqual("localhost\n", fs.Text("/etc/hostname"));
        Assert.IsNotNull(fs.Stat("/home/builder/.bash_history") is null ? "ok" : null);
        Assert.IsEmpty(GuestDeprovisioner.Run(fs, null));
    }

    [TestMethod]
    public void A_plain_resolv_conf_from_the_build_network_is_removed()
    {
        var fs = GuestFixtures.CentOs6().Add("/etc/resolv.conf", "nameserver 192.168.1.1\n");
        var log = GuestDeprovisioner.Run(fs, null);
        Assert.IsNull(fs.Stat("/etc/resolv.conf"));
        Assert.IsTrue(log.Any(l => l.StartsWith("/etc/resolv.conf: removed", StringComparison.Ordinal)));
        StringAssert.Contains(fs.Text("/etc/sysconfig/network"), "HOSTNAME=localhost.localdomain");
        Assert.IsNull(fs.Stat("/etc/udev/rules.d/70-persistent-net.rules"));
    }

    [TestMethod]
    public void Deprovision_user_removes_the_account_its_groups_home_and_sudoers_entry()
    {
        var fs = GuestFixtures.Debian12();
        var log = GuestDeprovisioner.Run(fs, "builder");
        Assert.IsFalse(fs.Text("/etc/passwd").Contains("builder", StringComparison.Ordinal));
        Assert.IsFalse(fs.Text("/etc/shadow").Contains("builder", StringComparison.Ordinal));
        Assert.AreEqual("root:x:0:\nsudo:x:27:\n", fs.Text("/etc/group"));
        Assert.AreEqual("root:*::\nsudo:*::\n", fs.Text("/etc/gshadow"));
        Assert.IsNull(fs.Stat("/etc/sudoers.d/90-builder"));
        Assert.IsNull(fs.Stat("/home/builder"));
        Assert.IsTrue(log.Any(l => l.StartsWith("/home/builder: removed", StringComparison.Ordinal)));
        var diagnostics = new List<Diagnostic>();
        GuestDeprovisioner.Run(fs, "nobody-here", diagnostics);
        Assert.AreEqual("nobody-here", diagnostics.Single(d => d.Code == "LIMG0482").Message.Split('\'')[1]);
        Assert.AreEqual("LIMG0004", Assert.ThrowsExactly<LinuxImageException>(() => GuestDeprovisioner.Run(GuestFixtures.Debian12(), "root")).Descriptor.Code);
    }

    [TestMethod]
    public void Host_keys_stay_when_only_the_agent_provisions_and_it_will_not_regenerate_them()
    {
        var fs = GuestFixtures.Debian12().Add("/etc/waagent.conf", "Provisioning.Agent=waagent\nProvisioning.RegenerateSshHostKeyPair=n\n");
        GuestDeprovisioner.Run(fs, null);
        Assert.IsNotNull(fs.Stat("/etc/ssh/ssh_host_rsa_key"));
        Assert.IsEmpty(GuestDeprovisioner.Leftovers(fs));
    }

    private static List<RuleOutcome> Failures(IGuestFileSystem fs, GuestValidationOptions? options = null) =>
        [.. GuestValidator.Validate(fs, options ?? new()).Where(o => !o.Passed)];

    [TestMethod]
    public void A_blacklisted_hyper_v_module_is_an_error()
    {
        var fs = GuestInitramfsFixture.Debian12()
            .Add("/etc/modprobe.d/hardening.conf", "# CIS\ninstall cramfs /bin/true\ninstall hv_netvsc /bin/false\n")
            .Add("/usr/lib/modprobe.d/vbox.conf", "blacklist hv_vmbus\n");
        var found = Failures(fs).Where(o => o.Code == "LIMG0500").Select(o => o.Message).ToList();
        Assert.HasCount(2, found);
        Assert.IsTrue(found.Any(m => m.Contains("hardening.conf' line 3", StringComparison.Ordinal) && m.Contains("hv_netvsc", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void Provisioning_by_neither_or_both_is_an_error()
    {
        var neither = GuestInitramfsFixture.Debian12().Add("/etc/waagent.conf", GuestFixtures.WaagentConfDebian.Replace("Provisioning.Agent=auto", "Provisioning.Agent=cloud-init", StringComparison.Ordinal));
        var outcome = Failures(neither).Single(o => o.RuleId == "provisioning");
        Assert.AreEqual("LIMG0502", outcome.Code);
        StringAssert.Contains(outcome.Message, "cloud-init is not installed");

        var both = GuestInitramfsFixture.Debian12()
            .Add("/etc/waagent.conf", GuestFixtures.WaagentConfDebian.Replace("Provisioning.Agent=auto", "Provisioning.Agent=waagent", StringComparison.Ordinal))
            .Add("/usr/bin/cloud-init", "#!/usr/bin/python3\n", 0x1ED);
        Assert.AreEqual("LIMG0501", Failures(both).Single(o => o.RuleId == "provisioning").Code);

        var cloudInit = GuestInitramfsFixture.Debian12().Add("/usr/bin/cloud-init", "#!/usr/bin/python3\n", 0x1ED);
        Assert.IsFalse(Failures(cloudInit).Any(o => o.RuleId == "provisioning"), "auto defers to an installed cloud-init");
    }

    [TestMethod]
    public void Nvme_readiness_is_a_warning_unless_the_project_targets_nvme()
    {
        var fs = GuestInitramfsFixture.Debian12().Add("/etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n");
        var any = Failures(fs).Where(o => o.RuleId.StartsWith("nvme.", StringComparison.Ordinal)).ToList();
        Assert.IsTrue(any.All(o => o.Severity == DiagnosticSeverity.Warning) && any.Count == 2);
        var nvme = Failures(fs, GuestValidationOptions.From(new GuestPatchOptions { AzureDiskController = AzureDiskController.NVMe }))
            .Where(o => o.RuleId.StartsWith("nvme.", StringComparison.Ordinal)).ToList();
        Assert.IsTrue(nvme.All(o => o.Severity == DiagnosticSeverity.Error) && nvme.Count == 2);
    }

    [TestMethod]
    public void Missing_agent_ssh_udf_and_lvm_are_each_reported_with_their_requirement()
    {
        var fs = GuestInitramfsFixture.Debian12();
        fs.Delete("/usr/sbin/waagent");
        fs.Delete("/etc/systemd/system/multi-user.target.wants/ssh.service");
        fs.Delete($"/lib/modules/{GuestFixtures.DebianKernel}/kernel/fs/udf/udf.ko");
        fs.Add($"/boot/config-{GuestFixtures.DebianKernel}", "# CONFIG_UDF_FS is not set\n");
        fs.Add($"/lib/modules/{GuestFixtures.DebianKernel}/modules.dep", "kernel/drivers/hv/hv_vmbus.ko:\nkernel/drivers/scsi/hv_storvsc.ko: kernel/drivers/hv/hv_vmbus.ko\n");
        var failures = Failures(fs, new GuestValidationOptions { OsDiskLvm = "volume group vg0" }).GroupBy(o => o.Code).ToDictionary(g => g.Key, g => g.First().Requirement);
        Assert.AreEqual("R9", failures["LIMG0460"]);
        Assert.AreEqual("R13", failures["LIMG0471"]);
        Assert.AreEqual("R5", failures["LIMG0450"]);
        Assert.AreEqual("R4", failures["LIMG0490"]);
    }

    [TestMethod]
    public void Every_guest_diagnostic_has_a_documentation_page()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "LinuxImageSdk.sln")))
        {
            root = Path.GetDirectoryName(root)!;
        }
        foreach (var descriptor in DiagnosticCatalog.All.Where(d => string.CompareOrdinal(d.Code, "LIMG0400") >= 0 && string.CompareOrdinal(d.Code, "LIMG0599") <= 0))
        {
            string page = Path.Combine(root, "docs", "diagnostics", descriptor.Code + ".md");
            Assert.IsTrue(File.Exists(page), page);
            StringAssert.StartsWith(File.ReadAllText(page, Encoding.UTF8), $"# {descriptor.Code}: {descriptor.Title}");
        }
    }

    [TestMethod]
    public void The_staged_view_shows_pending_changes_and_commit_applies_them_in_order()
    {
        var inner = GuestFixtures.Debian12();
        var staged = new StagedGuestFileSystem(inner);
        GuestFiles.WriteText(staged, "/etc/hostname", "x\n");
        staged.Delete("/etc/machine-id");
        GuestFiles.EnsureDirectory(staged, "/etc/new/dir");
        GuestFiles.WriteText(staged, "/etc/new/dir/file", "y");
        Assert.AreEqual("x\n", Encoding.UTF8.GetString(staged.ReadFile("/etc/hostname")));
        Assert.IsNull(staged.Stat("/etc/machine-id"));
        Assert.IsTrue(staged.ListDirectory("/etc/new").Any(e => e.Path == "/etc/new/dir"));
        Assert.AreEqual("build-vm\n", inner.Text("/etc/hostname"));
        Assert.AreEqual(0, inner.WriteCount);
        staged.Commit();
        Assert.AreEqual("x\n", inner.Text("/etc/hostname"));
        Assert.IsNull(inner.Stat("/etc/machine-id"));
        Assert.AreEqual("y", inner.Text("/etc/new/dir/file"));
    }
}
