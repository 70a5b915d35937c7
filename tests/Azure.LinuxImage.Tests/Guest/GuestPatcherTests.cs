using System.Text.Json;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest.Distributions;
using Azure.LinuxImage.Engine.Guest.Initramfs;
using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Engine.Validation;
using Azure.LinuxImage.Engine.Validation.Guest;

namespace Azure.LinuxImage.Tests.Guest;

[TestClass]
public sealed class GuestPatcherTests
{
    private static readonly GuestPatchOptions Defaults = new();

    private static List<RuleOutcome> Failures(InMemoryGuestFileSystem fs, GuestValidationOptions? options = null) =>
        [.. GuestValidator.Validate(fs, options ?? GuestValidationOptions.From(Defaults)).Where(o => !o.Passed)];

    [TestMethod]
    [DynamicData(nameof(GuestInitramfsFixture.Families), typeof(GuestInitramfsFixture))]
    public void A_stock_guest_fails_the_articles_rules_and_passes_them_after_the_patch(string family)
    {
        var fs = GuestInitramfsFixture.Family(family);
        var before = Failures(fs).Select(o => o.Code).ToHashSet();
        foreach (string code in new[] { "LIMG0413", "LIMG0422", "LIMG0441", "LIMG0480" })
        {
            Assert.Contains(code, before, $"{family}: expected {code} before patching; got {string.Join(", ", before)}");
        }

        var result = GuestPatcher.Patch(fs, Defaults);
        Assert.IsTrue(result.Changed);
        var after = Failures(fs);
        var errors = after.Where(o => o.Severity == DiagnosticSeverity.Error).ToList();
        Assert.IsEmpty(errors, $"{family}: " + string.Join("\n", errors.Select(e => $"{e.Code} {e.Message}")));
        // Only what the patch must not decide for the user is left as a warning (these in-memory trees
        // carry no network drivers, chrony or Azure udev rules: AzureReadinessTests has real ones).
        var warnings = after.Select(o => o.Code).ToHashSet();
        Assert.IsTrue(warnings.IsSubsetOf(new[] { "LIMG0465", "LIMG0510", "LIMG0555", "LIMG0556", "LIMG0557" }), $"{family}: {string.Join(", ", warnings)}");
    }

    [TestMethod]
    [DynamicData(nameof(GuestInitramfsFixture.Families), typeof(GuestInitramfsFixture))]
    public void Patching_twice_equals_patching_once(string family)
    {
        var fs = GuestInitramfsFixture.Family(family);
        GuestPatcher.Patch(fs, Defaults);
        string once = fs.Snapshot();
        int writes = fs.WriteCount;
        var second = GuestPatcher.Patch(fs, Defaults);
        Assert.IsEmpty(second.Actions, string.Join("\n", second.Actions));
        Assert.AreEqual(once, fs.Snapshot());
        Assert.AreEqual(writes, fs.WriteCount);
    }

    [TestMethod]
    public void Every_action_is_logged_with_the_file_it_changed()
    {
        var fs = GuestInitramfsFixture.Debian12();
        var result = GuestPatcher.Patch(fs, Defaults);
        string log = string.Join("\n", result.Actions);
        foreach (string expected in new[] { "/etc/waagent.conf", "/etc/default/grub", "/boot/grub/grub.cfg", "/etc/fstab", "/etc/initramfs-tools/modules",
            $"/boot/initrd.img-{GuestFixtures.DebianKernel}", "/etc/ssh", "/etc/shadow", "/var/lib/waagent", "/etc/hostname", "/etc/machine-id", "/var/lib/dhcp/dhclient.eth0.leases" })
        {
            StringAssert.Contains(log, expected);
        }
        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "LIMG0403" && d.Message.StartsWith("/etc/resolv.conf: kept", StringComparison.Ordinal)));
        Assert.AreEqual(DistributionFamily.Debian, result.Distribution.Family);
    }

    [TestMethod]
    public void Changing_one_kernel_parameter_repatches_to_what_a_clean_patch_gives()
    {
        var incremental = GuestInitramfsFixture.Rhel9();
        GuestPatcher.Patch(incremental, Defaults);
        var changed = Defaults with { KernelParameters = ["console=ttyS0,115200n8", "earlyprintk=ttyS0,115200", "rootdelay=120"] };
        GuestPatcher.Patch(incremental, changed);
        var clean = GuestInitramfsFixture.Rhel9();
        GuestPatcher.Patch(clean, changed);
        Assert.AreEqual(clean.Snapshot(), incremental.Snapshot());
    }

    [TestMethod]
    public void A_guest_without_os_release_is_an_error_and_nothing_is_written()
    {
        var fs = new InMemoryGuestFileSystem().Add("/etc/fstab", "/dev/sda2 none swap sw 0 0\n");
        var ex = Assert.ThrowsExactly<LinuxImageException>(() => GuestPatcher.Patch(fs, Defaults));
        Assert.AreEqual("LIMG0400", ex.Descriptor.Code);
        Assert.AreEqual(0, fs.WriteCount);
        Assert.AreEqual("LIMG0400", GuestValidator.Validate(fs, new()).Single().Code);
    }

    [TestMethod]
    public void Duplicate_waagent_keys_stop_the_patch_before_anything_is_written()
    {
        var fs = GuestInitramfsFixture.Debian12();
        fs.Add("/etc/waagent.conf", GuestFixtures.WaagentConfDebian + "ResourceDisk.Format=y\n");
        string before = fs.Snapshot();
        var ex = Assert.ThrowsExactly<LinuxImageException>(() => GuestPatcher.Patch(fs, Defaults));
        Assert.AreEqual("LIMG0420", ex.Descriptor.Code);
        StringAssert.Contains(ex.Message, "ResourceDisk.Format");
        Assert.AreEqual(before, fs.Snapshot());
        Assert.IsTrue(Failures(fs).Any(o => o.Code == "LIMG0420"));
    }

    [TestMethod]
    public void A_later_step_failing_leaves_the_earlier_steps_edits_unwritten()
    {
        var fs = GuestInitramfsFixture.Debian12();
        fs.Add("/boot/grub/grub.cfg", "set timeout=5\n");
        string before = fs.Snapshot();
        var ex = Assert.ThrowsExactly<LinuxImageException>(() => GuestPatcher.Patch(fs, Defaults));
        Assert.AreEqual("LIMG0410", ex.Descriptor.Code);
        Assert.AreEqual(before, fs.Snapshot(), "waagent.conf was edited in the staged view only");
        Assert.AreEqual(0, fs.WriteCount);
    }

    [TestMethod]
    public void An_unreadable_initramfs_is_reported_and_everything_else_is_patched()
    {
        var fs = GuestFixtures.Debian12().Add($"/boot/initrd.img-{GuestFixtures.DebianKernel}", "garbage, not an initramfs");
        var result = GuestPatcher.Patch(fs, Defaults);
        var diagnostic = result.Diagnostics.Single(d => d.Code == "LIMG0440");
        StringAssert.Contains(diagnostic.Message, "initrd.img-6.1.0-13-amd64");
        StringAssert.Contains(fs.Text("/etc/waagent.conf"), "ResourceDisk.Format=y");
        var failures = Failures(fs);
        Assert.AreEqual("LIMG0440", failures.Single(o => o.Severity == DiagnosticSeverity.Error).Code);
    }

    [TestMethod]
    public void Deprovision_false_keeps_the_identity_and_validation_warns()
    {
        var fs = GuestInitramfsFixture.Debian12();
        var options = Defaults with { Deprovision = false };
        GuestPatcher.Patch(fs, options);
        Assert.IsNotNull(fs.Stat("/etc/ssh/ssh_host_rsa_key"));
        var outcome = Failures(fs, GuestValidationOptions.From(options)).Single(o => o.RuleId == "R16.deprovisioned");
        Assert.AreEqual("LIMG0481", outcome.Code);
        Assert.AreEqual(DiagnosticSeverity.Warning, outcome.Severity);
    }

    [TestMethod]
    public void For_nvme_vm_sizes_the_patch_adds_the_nvme_driver_and_its_dependency_too()
    {
        var fs = GuestInitramfsFixture.Rhel9();
        var options = Defaults with { AzureDiskController = AzureDiskController.NVMe };
        var validation = GuestValidationOptions.From(options);
        Assert.AreEqual(DiagnosticSeverity.Error, Failures(fs, validation).Single(o => o.Code == "LIMG0510").Severity);
        GuestPatcher.Patch(fs, options);
        Assert.IsFalse(Failures(fs, validation).Any(o => o.Code == "LIMG0510"));
        var image = InitramfsReader.Read(fs.ReadFile($"/boot/initramfs-{GuestFixtures.Rhel9Kernel}.img"));
        Assert.IsTrue(image.ModuleNames().IsSupersetOf(["nvme", "nvme_core"]));
        StringAssert.Contains(fs.Text(HyperVInitramfs.DracutConfPath), " nvme \"");
    }

    [TestMethod]
    public void El6_gets_numa_off_and_the_rule_checks_it()
    {
        var fs = GuestInitramfsFixture.CentOs6();
        Assert.IsTrue(Failures(fs).Any(o => o.Code == "LIMG0451"));
        GuestPatcher.Patch(fs, Defaults);
        StringAssert.Contains(fs.Text("/boot/grub/grub.conf"), "numa=off");
        Assert.IsFalse(Failures(fs).Any(o => o.Code == "LIMG0451"));
    }

    [TestMethod]
    public void Rhel9_uses_dracut_configuration_and_rd_driver_pre()
    {
        var fs = GuestInitramfsFixture.Rhel9();
        GuestPatcher.Patch(fs, Defaults);
        StringAssert.Contains(fs.Text(HyperVInitramfs.DracutConfPath), "add_drivers+=");
        var image = InitramfsReader.Read(fs.ReadFile($"/boot/initramfs-{GuestFixtures.Rhel9Kernel}.img"), _ => true);
        Assert.IsNotNull(image.Find("etc/cmdline.d/90-azure-hyperv.conf"));
        Assert.AreEqual(InitramfsCompression.Gzip, image.Segments[^1].Compression);
    }

    [TestMethod]
    public void Validation_reports_go_to_json_and_sarif_with_msbuild_warning_controls_applied()
    {
        var fs = GuestInitramfsFixture.Rhel9();
        var outcomes = GuestValidator.Validate(fs, GuestValidationOptions.From(Defaults) with { OsDiskLvm = "volume group rhel on partition 3" });
        var options = new DiagnosticOptions();
        options.NoWarn.Add("LIMG0465");
        options.WarningsAsErrors.Add("LIMG0490");

        using var sarif = new MemoryStream();
        SarifWriter.Write(sarif, outcomes, options, "1.0.0");
        using var doc = JsonDocument.Parse(sarif.ToArray());
        var run = doc.RootElement.GetProperty("runs")[0];
        Assert.AreEqual("2.1.0", doc.RootElement.GetProperty("version").GetString());
        var results = run.GetProperty("results").EnumerateArray().ToList();
        var rules = run.GetProperty("tool").GetProperty("driver").GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
        foreach (var r in results)
        {
            Assert.AreEqual(r.GetProperty("ruleId").GetString(), rules[r.GetProperty("ruleIndex").GetInt32()]);
        }
        Assert.IsFalse(results.Any(r => r.GetProperty("ruleId").GetString() == "LIMG0465" && r.GetProperty("kind").GetString() == "fail"), "NoWarn drops the result");
        var lvm = results.Single(r => r.GetProperty("ruleId").GetString() == "LIMG0490");
        Assert.AreEqual("error", lvm.GetProperty("level").GetString());
        var grubLocation = results.First(r => r.GetProperty("ruleId").GetString() == "LIMG0414")
            .GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation");
        Assert.AreEqual("GUEST", grubLocation.GetProperty("uriBaseId").GetString());
        Assert.IsTrue(results.Any(r => r.GetProperty("kind").GetString() == "pass"));

        using var report = new MemoryStream();
        ValidationReport.WriteJson(report, null, outcomes, options, ["example action"]);
        using var json = JsonDocument.Parse(report.ToArray());
        var summary = json.RootElement.GetProperty("summary");
        Assert.AreEqual(ValidationReport.ErrorCount(outcomes, options), summary.GetProperty("errors").GetInt32());
        Assert.AreEqual(1, summary.GetProperty("suppressed").GetInt32());
        Assert.AreEqual(outcomes.Count, json.RootElement.GetProperty("rules").GetArrayLength());
    }
}
