using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest.Boot;

namespace Azure.LinuxImage.Tests.Guest;

[TestClass]
public sealed class BootLoaderConfigurationTests
{
    private static readonly KernelParameterEdit ArticleEdit = new(
        ["console=ttyS0,115200n8", "earlyprintk=ttyS0,115200", "rootdelay=300"],
        ["rhgb", "quiet", "crashkernel=auto"],
        k => k is { NeedsNumaOff: true } ? ["numa=off"] : []);

    private static void AssertArticleCompliant(IReadOnlyList<BootEntry> entries, bool expectNuma = false)
    {
        Assert.IsNotEmpty(entries);
        foreach (var entry in entries.Where(e => e.Description != "GRUB_CMDLINE_LINUX_DEFAULT"))
        {
            foreach (string p in ArticleEdit.Add)
            {
                Assert.IsTrue(KernelCommandLine.Has(entry.Parameters, p), $"{entry.File}:{entry.Line} {entry.Description} lacks {p}: {entry.CommandLine}");
            }
            if (expectNuma && entry.Source != BootEntrySource.Defaults)
            {
                Assert.IsTrue(KernelCommandLine.Has(entry.Parameters, "numa=off"), $"{entry.File}: {entry.CommandLine}");
            }
        }
        foreach (var entry in entries)
        {
            foreach (string name in new[] { "rhgb", "quiet", "crashkernel" })
            {
                Assert.IsNull(KernelCommandLine.FindByName(entry.Parameters, name), $"{entry.File}:{entry.Line} still has {name}: {entry.CommandLine}");
            }
        }
    }

    [TestMethod]
    public void Debian_grub_defaults_and_every_grub_cfg_linux_line_are_patched_without_touching_the_rest()
    {
        var fs = GuestFixtures.Debian12();
        string before = fs.Text("/boot/grub/grub.cfg");
        BootLoaderConfiguration.Patch(fs, ArticleEdit, KernelVersion.TryParse(GuestFixtures.DebianKernel));

        string defaults = fs.Text("/etc/default/grub");
        StringAssert.Contains(defaults, "GRUB_CMDLINE_LINUX_DEFAULT=\"\"\n");
        StringAssert.Contains(defaults, "GRUB_CMDLINE_LINUX=\"console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300\"\n");
        StringAssert.Contains(defaults, "#GRUB_BADRAM=\"0x01234567,0xfefefefe,0x89abcdef,0xefefefef\"");
        string cfg = fs.Text("/boot/grub/grub.cfg");
        StringAssert.Contains(cfg, "\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=UUID=2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a ro console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300\n");
        StringAssert.Contains(cfg, "ro single console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300\n");
        // Only the two linux lines differ.
        var changed = before.Split('\n').Zip(cfg.Split('\n')).Count(p => p.First != p.Second);
        Assert.AreEqual(2, changed);
        AssertArticleCompliant(BootLoaderConfiguration.ReadEntries(fs));
    }

    [TestMethod]
    public void Rhel9_bls_options_defaults_and_kernel_install_cmdline_are_patched_and_grubenv_is_left_alone()
    {
        var fs = GuestFixtures.Rhel9();
        byte[] grubenv = fs.ReadFile("/boot/grub2/grubenv");
        BootLoaderConfiguration.Patch(fs, ArticleEdit, KernelVersion.TryParse(GuestFixtures.Rhel9Kernel));
        string entry = fs.Text($"/boot/loader/entries/4f1c1e2b7a9d4c3e8f6a5b4c3d2e1f0a-{GuestFixtures.Rhel9Kernel}.conf");
        StringAssert.Contains(entry, "options root=/dev/mapper/rhel-root ro resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap $tuned_params console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300\n");
        StringAssert.Contains(entry, "grub_class rhel\n");
        CollectionAssert.AreEqual(grubenv, fs.ReadFile("/boot/grub2/grubenv"));
        StringAssert.StartsWith(fs.Text("/etc/kernel/cmdline"), "root=/dev/mapper/rhel-root ro resume=");
        AssertArticleCompliant(BootLoaderConfiguration.ReadEntries(fs));
    }

    [TestMethod]
    public void Rhel8_kernelopts_in_grubenv_stays_1024_bytes_and_bls_entries_are_not_given_duplicates()
    {
        var fs = GuestFixtures.Rhel8();
        BootLoaderConfiguration.Patch(fs, ArticleEdit, KernelVersion.TryParse(GuestFixtures.Rhel8Kernel));
        byte[] env = fs.ReadFile("/boot/grub2/grubenv");
        Assert.HasCount(1024, env);
        var values = GrubEnvironmentBlock.Parse(env, "grubenv");
        Assert.AreEqual("root=/dev/mapper/rhel-root ro resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300", values["kernelopts"]);
        StringAssert.StartsWith(values["saved_entry"], "a1b2c3d4");
        StringAssert.Contains(fs.Text($"/boot/loader/entries/a1b2c3d4e5f60718293a4b5c6d7e8f90-{GuestFixtures.Rhel8Kernel}.conf"), "options $kernelopts $tuned_params\n");
        StringAssert.Contains(fs.Text("/boot/grub2/grub.cfg"), "set kernelopts=\"root=/dev/mapper/rhel-root ro resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300\"");
        var entries = BootLoaderConfiguration.ReadEntries(fs);
        var bls = entries.Single(e => e.Source == BootEntrySource.BlsEntry);
        Assert.AreEqual(1, bls.Parameters.Count(p => p == "rootdelay=300"));
        AssertArticleCompliant(entries);
    }

    [TestMethod]
    public void El6_legacy_grub_conf_gets_numa_off_for_a_kernel_older_than_2_6_32_504_through_its_etc_link()
    {
        var fs = GuestFixtures.CentOs6();
        BootLoaderConfiguration.Patch(fs, ArticleEdit, KernelVersion.TryParse(GuestFixtures.El6Kernel));
        string conf = fs.Text("/boot/grub/grub.conf");
        StringAssert.Contains(conf, "LANG=en_US.UTF-8 rd_NO_MD SYSFONT=latarcyrheb-sun16 KEYBOARDTYPE=pc KEYTABLE=us rd_NO_DM console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300 numa=off\n");
        StringAssert.Contains(conf, "#          kernel /vmlinuz-version ro root=/dev/sda2\n");
        Assert.AreEqual(Azure.LinuxImage.Engine.Guest.GuestFileKind.Symlink, fs.Stat("/etc/grub.conf")!.Kind);
        AssertArticleCompliant(BootLoaderConfiguration.ReadEntries(fs), expectNuma: true);
    }

    [TestMethod]
    public void Suse_sysconfig_bootloader_and_grub_cfg_lose_both_crashkernel_values()
    {
        var fs = GuestFixtures.Sles15();
        BootLoaderConfiguration.Patch(fs, ArticleEdit, KernelVersion.TryParse(GuestFixtures.SuseKernel));
        StringAssert.Contains(fs.Text("/etc/sysconfig/bootloader"), "DEFAULT_APPEND=\"splash=silent resume=/dev/disk/by-uuid/5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d mitigations=auto console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300\"");
        StringAssert.Contains(fs.Text("/etc/sysconfig/bootloader"), "FAILSAFE_APPEND=\"ide=nodma apm=off noresume edd=off nomodeset 3\"");
        StringAssert.Contains(fs.Text("/boot/grub2/grub.cfg"), "${extra_cmdline} splash=silent");
        AssertArticleCompliant(BootLoaderConfiguration.ReadEntries(fs));
    }

    [TestMethod]
    public void Patching_twice_equals_patching_once_on_every_family()
    {
        foreach (var make in new Func<InMemoryGuestFileSystem>[] { GuestFixtures.Debian12, GuestFixtures.Rhel9, GuestFixtures.Rhel8, GuestFixtures.CentOs6, GuestFixtures.Sles15 })
        {
            var fs = make();
            BootLoaderConfiguration.Patch(fs, ArticleEdit, null);
            string once = fs.Snapshot();
            int writes = fs.WriteCount;
            var log = BootLoaderConfiguration.Patch(fs, ArticleEdit, null);
            Assert.AreEqual(once, fs.Snapshot());
            Assert.AreEqual(writes, fs.WriteCount, "an unchanged file must not be rewritten");
            Assert.IsEmpty(log);
        }
    }

    [TestMethod]
    public void Removal_by_name_matches_any_value_and_an_added_parameter_replaces_another_value()
    {
        var tokens = KernelCommandLine.Apply(KernelCommandLine.Tokenize("ro crashkernel=256M rootdelay=10 console=tty0 quiet rootdelay=20 foo=\"a b\""),
            ["rootdelay=300", "console=ttyS0,115200n8"], ["crashkernel", "quiet"]);
        Assert.AreEqual("ro rootdelay=300 console=tty0 foo=\"a b\" console=ttyS0,115200n8", string.Join(' ', tokens));
    }

    [TestMethod]
    public void A_grub_cfg_without_linux_entries_is_an_error_and_nothing_is_written()
    {
        var fs = GuestFixtures.Debian12();
        fs.Add("/boot/grub/grub.cfg", "set default=0\nmenuentry 'x' {\n  chainloader +1\n}\n");
        string before = fs.Snapshot();
        var ex = Assert.ThrowsExactly<LinuxImageException>(() => BootLoaderConfiguration.Patch(fs, ArticleEdit, null));
        Assert.AreEqual("LIMG0410", ex.Descriptor.Code);
        Assert.AreEqual(before, fs.Snapshot());
    }

    [TestMethod]
    public void A_guest_without_any_boot_loader_configuration_is_an_error()
    {
        var fs = new InMemoryGuestFileSystem().Add("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"\"\n");
        var ex = Assert.ThrowsExactly<LinuxImageException>(() => BootLoaderConfiguration.Patch(fs, ArticleEdit, null));
        Assert.AreEqual("LIMG0411", ex.Descriptor.Code);
    }

    [TestMethod]
    public void A_grubenv_that_would_overflow_1024_bytes_is_refused()
    {
        var fs = GuestFixtures.Rhel8();
        var edit = new KernelParameterEdit([new string('x', 900) + "=1"], []);
        var ex = Assert.ThrowsExactly<LinuxImageException>(() => BootLoaderConfiguration.Patch(fs, edit, null));
        Assert.AreEqual("LIMG0412", ex.Descriptor.Code);
    }

    [TestMethod]
    public void A_damaged_grubenv_without_kernelopts_does_not_block_the_patch_but_one_with_kernelopts_does()
    {
        var rhel9 = GuestFixtures.Rhel9().Add("/boot/grub2/grubenv", "saved_entry=x\n");
        BootLoaderConfiguration.Patch(rhel9, ArticleEdit, null);
        var rhel8 = GuestFixtures.Rhel8().Add("/boot/grub2/grubenv", "# GRUB Environment Block\nkernelopts=root=/dev/sda1 quiet\n");
        Assert.AreEqual("LIMG0412", Assert.ThrowsExactly<LinuxImageException>(() => BootLoaderConfiguration.Patch(rhel8, ArticleEdit, null)).Descriptor.Code);
    }

    [TestMethod]
    public void Ubuntu_cloud_image_overrides_in_grub_d_lose_removed_and_conflicting_parameters()
    {
        var fs = GuestFixtures.Debian12()
            .Add("/etc/default/grub.d/50-cloudimg-settings.cfg", "# Cloud Image specific Grub settings for Generic Cloud Images\n# Set the recordfail timeout\nGRUB_RECORDFAIL_TIMEOUT=0\n\n# Set the default commandline\nGRUB_CMDLINE_LINUX_DEFAULT=\"console=tty1 console=ttyS0 rootdelay=10 quiet\"\n");
        BootLoaderConfiguration.Patch(fs, ArticleEdit, null);
        StringAssert.Contains(fs.Text("/etc/default/grub.d/50-cloudimg-settings.cfg"), "GRUB_CMDLINE_LINUX_DEFAULT=\"console=tty1 console=ttyS0\"\n");
        AssertArticleCompliant(BootLoaderConfiguration.ReadEntries(fs));
    }

    [TestMethod]
    [DataRow("2.6.32-431.el6.x86_64", true, false)]
    [DataRow("2.6.32-504.el6.x86_64", false, false)]
    [DataRow("2.6.32-279.el6.x86_64", true, true)]
    [DataRow("2.6.36", true, false)]
    [DataRow("2.6.37", false, false)]
    [DataRow("6.1.0-13-amd64", false, false)]
    public void Kernel_versions_follow_the_articles_numa_and_lis_thresholds(string text, bool numaOff, bool lis)
    {
        var v = KernelVersion.TryParse(text)!;
        Assert.AreEqual(numaOff, v.NeedsNumaOff);
        Assert.AreEqual(lis, v.IsRhel6WithoutHyperVDrivers);
    }

    [TestMethod]
    public void Kernel_versions_are_read_from_boot_file_names()
    {
        Assert.AreEqual("5.14.0-362.8.1.el9_3.x86_64", KernelVersion.FromBootFileName("/vmlinuz-5.14.0-362.8.1.el9_3.x86_64")!.Text);
        Assert.AreEqual("6.1.0-13-amd64", KernelVersion.FromBootFileName("/boot/initrd.img-6.1.0-13-amd64")!.Text);
        Assert.AreEqual("4.18.0-513.el8.x86_64", KernelVersion.FromBootFileName("initramfs-4.18.0-513.el8.x86_64.img")!.Text);
        Assert.IsTrue(KernelVersion.TryParse("6.1.0-13-amd64") > KernelVersion.TryParse("5.14.0-362"));
    }
}
