using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.Guest.Boot;

namespace Azure.LinuxImage.Tests.Guest;

/// <summary>
/// Boot configuration kept on the EFI system partition, as each family lays it out once the ESP is
/// mounted where its fstab says (/boot/efi, /efi): the files are then plain guest paths.
/// </summary>
[TestClass]
public sealed class EspBootLayoutTests
{
    internal static readonly KernelParameterEdit ArticleEdit = new(
        ["console=ttyS0,115200n8", "earlyprintk=ttyS0,115200", "rootdelay=300"],
        ["rhgb", "quiet", "crashkernel=auto"]);

    private static void AssertCompliant(InMemoryGuestFileSystem fs)
    {
        foreach (var entry in BootLoaderConfiguration.ReadEntries(fs).Where(e => e.Description != "GRUB_CMDLINE_LINUX_DEFAULT"))
        {
            foreach (string p in ArticleEdit.Add)
            {
                Assert.IsTrue(KernelCommandLine.Has(entry.Parameters, p), $"{entry.File}:{entry.Line} lacks {p}: {entry.CommandLine}");
            }
            Assert.IsNull(KernelCommandLine.FindByName(entry.Parameters, "quiet"), $"{entry.File}: {entry.CommandLine}");
        }
    }

    /// <summary>RHEL 8 on UEFI: grub.cfg and grubenv (with kernelopts) in EFI/redhat on the ESP; /boot/grub2/grubenv links there.</summary>
    [TestMethod]
    public void Rhel8Uefi_GrubenvAndGrubCfgOnTheEsp_ArePatched()
    {
        var fs = GuestFixtures.Rhel8();
        byte[] env = fs.ReadFile("/boot/grub2/grubenv");
        string cfg = fs.Text("/boot/grub2/grub.cfg");
        fs.Delete("/boot/grub2/grubenv");
        fs.Delete("/boot/grub2/grub.cfg");
        fs.AddBytes("/boot/efi/EFI/redhat/grubenv", env)
          .Add("/boot/efi/EFI/redhat/grub.cfg", cfg.Replace("insmod part_msdos", "insmod part_gpt", StringComparison.Ordinal))
          .AddBytes("/boot/efi/EFI/BOOT/BOOTX64.EFI", [0x4D, 0x5A])
          .Link("/boot/grub2/grubenv", "../efi/EFI/redhat/grubenv")
          .Link("/etc/grub2-efi.cfg", "../boot/efi/EFI/redhat/grub.cfg");

        BootLoaderConfiguration.Patch(fs, ArticleEdit, null);

        byte[] patched = fs.ReadFile("/boot/efi/EFI/redhat/grubenv");
        Assert.HasCount(1024, patched);
        var values = GrubEnvironmentBlock.Parse(patched, "grubenv");
        StringAssert.EndsWith(values["kernelopts"], "console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300");
        Assert.IsFalse(values["kernelopts"].Contains("rhgb", StringComparison.Ordinal));
        StringAssert.Contains(fs.Text("/boot/efi/EFI/redhat/grub.cfg"), "rootdelay=300\"");
        Assert.AreEqual(GuestFileKind.Symlink, fs.Stat("/boot/grub2/grubenv")!.Kind);
        AssertCompliant(fs);
    }

    /// <summary>Debian, Ubuntu, SUSE and Fedora 34+: the ESP's grub.cfg only finds /boot and loads the real grub.cfg, which is patched; the stub stays byte for byte.</summary>
    [TestMethod]
    [DataRow("debian", "search.fs_uuid 2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a root hd0,gpt2 \nset prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n")]
    [DataRow("ubuntu", "search.fs_uuid 2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a root \nset prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n")]
    [DataRow("opensuse", "set btrfs_relative_path=\"yes\"\nsearch --fs-uuid --set=root 2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a\nset prefix=(${root})/boot/grub2\nsource \"${prefix}/grub.cfg\"\n")]
    [DataRow("fedora", "search --no-floppy --root-dev-only --fs-uuid --set=dev 2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a\nset prefix=($dev)/grub2\nexport $prefix\nconfigfile $prefix/grub.cfg\n")]
    public void StubGrubCfgOnTheEsp_IsLeftAlone_AndTheRealOneIsPatched(string vendor, string stub)
    {
        var fs = GuestFixtures.Debian12();
        string stubPath = $"/boot/efi/EFI/{vendor}/grub.cfg";
        fs.Add(stubPath, stub).AddBytes($"/boot/efi/EFI/{vendor}/grubx64.efi", [0x4D, 0x5A]);
        BootLoaderConfiguration.EnsureReadable(fs);

        var log = BootLoaderConfiguration.Patch(fs, ArticleEdit, null);

        Assert.AreEqual(stub, fs.Text(stubPath));
        Assert.IsFalse(log.Any(l => l.Contains(stubPath, StringComparison.Ordinal)), string.Join("\n", log));
        StringAssert.Contains(fs.Text("/boot/grub/grub.cfg"), "console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300");
        AssertCompliant(fs);
    }

    /// <summary>systemd-boot with the ESP at /efi: the options lines of loader/entries/*.conf are patched; loader.conf is not an entry.</summary>
    [TestMethod]
    [DataRow("/efi")]
    [DataRow("/boot/efi")]
    [DataRow("/boot")]
    public void SystemdBootEntries_OnTheEsp_GetTheirOptionsPatched(string esp)
    {
        var fs = GuestFixtures.Debian12();
        fs.Delete("/boot/grub/grub.cfg");
        const string loaderConf = "default debian-*\ntimeout 3\nconsole-mode keep\n";
        string entry = $"{esp}/loader/entries/0123456789abcdef-{GuestFixtures.DebianKernel}.conf";
        fs.Add($"{esp}/loader/loader.conf", loaderConf)
          .Add(entry, $"title      Debian GNU/Linux 12 (bookworm)\nversion    {GuestFixtures.DebianKernel}\nmachine-id 0123456789abcdef\nsort-key   debian\noptions    root=UUID=2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a ro quiet\nlinux      /0123456789abcdef/{GuestFixtures.DebianKernel}/linux\ninitrd     /0123456789abcdef/{GuestFixtures.DebianKernel}/initrd.img-{GuestFixtures.DebianKernel}\n")
          .Add("/etc/kernel/cmdline", "root=UUID=2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a ro quiet\n");

        BootLoaderConfiguration.Patch(fs, ArticleEdit, null);

        StringAssert.Contains(fs.Text(entry), "options    root=UUID=2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a ro console=ttyS0,115200n8 earlyprintk=ttyS0,115200 rootdelay=300\n");
        StringAssert.Contains(fs.Text(entry), $"linux      /0123456789abcdef/{GuestFixtures.DebianKernel}/linux\n");
        Assert.AreEqual(loaderConf, fs.Text($"{esp}/loader/loader.conf"));
        Assert.IsTrue(BootLoaderConfiguration.ReadEntries(fs).Any(e => e.File == entry && e.Source == BootEntrySource.BlsEntry));
        AssertCompliant(fs);
    }
}
