using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest.Distributions;
using Azure.LinuxImage.Engine.Guest.Initramfs;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Guest;

/// <summary>Initramfs archives built by the real cpio and compressors; cpio -t, lsinitramfs and modprobe judge.</summary>
[TestClass]
public sealed class InitramfsTests
{
    private static string Sh(string script, string? cwd = null)
    {
        var r = ExternalTool.Run("bash", ["-euo", "pipefail", "-c", script], cwd);
        if (r.ExitCode != 0)
        {
            Assert.Fail($"{script}\n{r.All}");
        }
        return r.StdOut;
    }

    /// <summary>An initramfs-tools-like tree: modules, conf/modules, a symlink, a busybox-ish file.</summary>
    private static void MakeMainTree(string dir, string kernel, bool withHyperV)
    {
        Sh($"""
            mkdir -p main/usr/lib/modules/{kernel}/kernel/drivers/ata main/conf main/scripts/init-top main/usr/bin
            ln -s usr/lib main/lib
            ln -s usr/bin main/bin
            echo ata > main/usr/lib/modules/{kernel}/kernel/drivers/ata/ata_piix.ko
            printf 'kernel/drivers/ata/ata_piix.ko:\n' > main/usr/lib/modules/{kernel}/modules.dep
            printf 'alias pci:v00008086d00007111sv*sd*bc*sc*i* ata_piix\n' > main/usr/lib/modules/{kernel}/modules.alias
            printf 'kernel/fs/ext4/ext4.ko\n' > main/usr/lib/modules/{kernel}/modules.builtin
            printf '# modules\n' > main/conf/modules
            printf '#!/bin/sh\nexec /bin/sh\n' > main/init && chmod 755 main/init
            head -c 70000 /dev/urandom > main/usr/bin/busybox
            """, dir);
        if (withHyperV)
        {
            Sh($"mkdir -p main/usr/lib/modules/{kernel}/kernel/drivers/hv && echo x > main/usr/lib/modules/{kernel}/kernel/drivers/hv/hv_vmbus.ko", dir);
        }
    }

    private static string Compressor(string name) => name switch
    {
        "gzip" => "gzip -9 -n",
        "zstd" => "zstd -q -19 -c",
        "xz" => "xz --check=crc32 -c",
        "lz4" => "lz4 -l -q -c",
        "bzip2" => "bzip2 -c",
        "none" => "cat",
        _ => throw new ArgumentException(name),
    };

    [TestMethod]
    [DataRow("gzip")]
    [DataRow("zstd")]
    [DataRow("xz")]
    [DataRow("lz4")]
    [DataRow("bzip2")]
    [DataRow("none")]
    public void Reader_lists_what_cpio_lists_for_early_microcode_plus_a_compressed_main(string compression)
    {
        using var tmp = new TempDir("initrd");
        MakeMainTree(tmp.Path, "6.1.0-13-amd64", withHyperV: false);
        Sh($"""
            mkdir -p early/kernel/x86/microcode && head -c 5000 /dev/urandom > early/kernel/x86/microcode/GenuineIntel.bin
            (cd early && find . | sort | cpio -o -H newc --quiet) > early.cpio
            (cd main && find . | sort | cpio -o -H newc --quiet | {Compressor(compression)}) > main.img
            cat early.cpio main.img > initrd.img
            (cd early && find . | sort | cpio -o -H newc --quiet) > /dev/null
            cpio -t --quiet < early.cpio > expected.txt
            (cd main && find . | sort | cpio -o -H newc --quiet) | cpio -t --quiet >> expected.txt
            """, tmp.Path);
        var image = InitramfsReader.Read(File.ReadAllBytes(tmp["initrd.img"]));
        var expected = File.ReadAllLines(tmp["expected.txt"]);
        CollectionAssert.AreEqual(expected, image.Entries.Select(e => e.Path).ToArray());
        Assert.HasCount(2, image.Segments);
        Assert.AreEqual(InitramfsCompression.None, image.Segments[0].Compression);
        Assert.IsTrue(image.ModuleNames().Contains("ata_piix"));
        Assert.AreEqual("usr/lib", image.Find("lib")!.LinkTarget);
    }

    [TestMethod]
    [DataRow("gzip")]
    [DataRow("zstd")]
    [DataRow("xz")]
    [DataRow("bzip2")]
    public void An_archive_appended_after_a_compressed_segment_is_found_at_the_compressed_streams_exact_end(string compression)
    {
        using var tmp = new TempDir("initrd");
        MakeMainTree(tmp.Path, "6.1.0-13-amd64", withHyperV: false);
        Sh($"""
            (cd main && find . | sort | cpio -o -H newc --quiet | {Compressor(compression)}) > main.img
            mkdir -p extra/etc && echo hello > extra/etc/added
            (cd extra && find . | sort | cpio -o -H newc --quiet) > extra.cpio
            len=$(stat -c %s main.img); pad=$(( (4 - len % 4) % 4 ))
            (cat main.img; head -c $pad /dev/zero; cat extra.cpio) > initrd.img
            """, tmp.Path);
        var image = InitramfsReader.Read(File.ReadAllBytes(tmp["initrd.img"]), _ => true);
        Assert.HasCount(2, image.Segments);
        Assert.AreEqual(new FileInfo(tmp["main.img"]).Length, image.Segments[0].Length);
        Assert.AreEqual("hello\n", Encoding.UTF8.GetString(image.Find("etc/added")!.Data));
    }

    [TestMethod]
    public void Garbage_and_truncated_archives_are_reported_not_crashed_on()
    {
        var fs = GuestFixtures.Debian12();
        fs.AddBytes("/boot/initrd.img-x", Encoding.ASCII.GetBytes("this is not an initramfs"));
        var ex = Assert.ThrowsExactly<LinuxImageException>(() => HyperVInitramfs.ReadImage(fs, "/boot/initrd.img-x"));
        Assert.AreEqual("LIMG0440", ex.Descriptor.Code);
        StringAssert.Contains(ex.Message, "/boot/initrd.img-x");
        fs.AddBytes("/boot/initrd.img-y", [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
        Assert.AreEqual("LIMG0440", Assert.ThrowsExactly<LinuxImageException>(() => HyperVInitramfs.ReadImage(fs, "/boot/initrd.img-y")).Descriptor.Code);
    }

    [TestMethod]
    [DataRow("gzip")]
    [DataRow("zstd")]
    [DataRow("xz")]
    [DataRow("lz4")]
    [DataRow("bzip2")]
    public void Truncated_or_damaged_compressed_initramfs_is_a_diagnostic_never_a_crash(string compression)
    {
        using var tmp = new TempDir("damaged");
        MakeMainTree(tmp.Path, "6.1.0-13-amd64", withHyperV: false);
        Sh($"(cd main && find . | sort | cpio -o -H newc --quiet | {Compressor(compression)}) > initrd.img", tmp.Path);
        byte[] good = File.ReadAllBytes(tmp["initrd.img"]);
        var random = new Random(compression.Length);
        var fs = new InMemoryGuestFileSystem();
        for (int round = 0; round < 40; round++)
        {
            byte[] bad = round % 2 == 0 ? good[..random.Next(1, good.Length - 1)] : (byte[])good.Clone();
            if (round % 2 == 1)
            {
                for (int flips = 0; flips < 4; flips++)
                {
                    bad[random.Next(6, bad.Length)] ^= (byte)(1 << random.Next(8));
                }
            }
            fs.AddBytes("/boot/initrd.img", bad);
            try
            {
                HyperVInitramfs.ReadImage(fs, "/boot/initrd.img");
            }
            catch (LinuxImageException ex)
            {
                Assert.AreEqual("LIMG0440", ex.Descriptor.Code);
            }
        }
    }

    [TestMethod]
    public void Kmod_index_written_by_us_is_read_by_the_real_modprobe()
    {
        using var tmp = new TempDir("kmod");
        const string kernel = "6.1.0-13-amd64";
        string dir = tmp[$"lib/modules/{kernel}"];
        Directory.CreateDirectory(dir);
        string dep = "kernel/drivers/hv/hv_vmbus.ko:\nkernel/drivers/scsi/scsi_transport_fc.ko.xz:\nkernel/drivers/scsi/hv_storvsc.ko: kernel/drivers/scsi/scsi_transport_fc.ko.xz kernel/drivers/hv/hv_vmbus.ko\nkernel/drivers/nvme/host/nvme-core.ko:\n"
            + "kernel/drivers/scsi/sd_mod.ko:\nkernel/crypto/crc32c_generic.ko:\n";
        // Aliases with '-' (udev's "scsi:t-0x00" for disks, the kernel's "crypto-crc32c") are only
        // found under the key depmod writes, '-' turned to '_' outside character classes.
        string alias = "alias acpi*:VMBUS:* hv_vmbus\nalias vmbus:d96361baa104294db60572e2ffb1dc7f hv_storvsc\nalias pci:v*d*sv*sd*bc01sc08i02* nvme\n"
            + "alias scsi:t-0x00* sd_mod\nalias crypto-crc32c crc32c_generic\nalias pci:v0000[1-9]d* nvme\n";
        File.WriteAllBytes(Path.Combine(dir, "modules.dep.bin"), KmodIndexWriter.FromModulesDep(dep));
        // libkmod resolves each dependency through the file itself, so the modules must exist.
        foreach (var (module, _) in KernelModules.ParseModulesDep(dep))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, module))!);
            File.WriteAllText(Path.Combine(dir, module), "x");
        }
        File.WriteAllBytes(Path.Combine(dir, "modules.alias.bin"), KmodIndexWriter.FromModulesAlias(alias));
        var deps = ExternalTool.Run("modprobe", ["-d", tmp.Path, "-S", kernel, "--show-depends", "hv_storvsc"]);
        Assert.AreEqual(0, deps.ExitCode, deps.All);
        var lines = deps.StdOut.Trim().Split('\n').Select(l => l.Trim()).ToList();
        Assert.HasCount(3, lines, deps.StdOut);
        Assert.IsTrue(lines.Any(l => l.EndsWith("kernel/drivers/scsi/scsi_transport_fc.ko.xz", StringComparison.Ordinal)), deps.StdOut);
        Assert.IsTrue(lines.Any(l => l.EndsWith("kernel/drivers/hv/hv_vmbus.ko", StringComparison.Ordinal)), deps.StdOut);
        StringAssert.EndsWith(lines[2], "kernel/drivers/scsi/hv_storvsc.ko");
        var resolved = ExternalTool.Run("modprobe", ["-d", tmp.Path, "-S", kernel, "-R", "vmbus:d96361baa104294db60572e2ffb1dc7f"]);
        Assert.AreEqual("hv_storvsc", resolved.StdOut.Trim(), resolved.All);
        var wildcard = ExternalTool.Run("modprobe", ["-d", tmp.Path, "-S", kernel, "-R", "acpi:VMBUS:"]);
        Assert.AreEqual("hv_vmbus", wildcard.StdOut.Trim(), wildcard.All);
        var disk = ExternalTool.Run("modprobe", ["-d", tmp.Path, "-S", kernel, "-R", "scsi:t-0x00"]);
        Assert.AreEqual("sd_mod", disk.StdOut.Trim(), disk.All);
        var crypto = ExternalTool.Run("modprobe", ["-d", tmp.Path, "-S", kernel, "-R", "crypto-crc32c"]);
        Assert.AreEqual("crc32c_generic", crypto.StdOut.Trim(), crypto.All);
        Assert.AreEqual("pci:v0000[1-9]d*", KmodIndexWriter.NormalizeAlias("pci:v0000[1-9]d*"), "ranges in classes keep their '-'");
        var nvmeCore = ExternalTool.Run("modprobe", ["-d", tmp.Path, "-S", kernel, "--show-depends", "nvme-core"]);
        StringAssert.Contains(nvmeCore.StdOut, "nvme-core.ko");
    }

    [TestMethod]
    public void Kmod_alias_index_of_a_whole_debian_kernel_answers_modprobe_as_depmods_does()
    {
        // The sample's kernel: 26 000 aliases, the size of index an initramfs with MODULES=most carries.
        string modules = Directory.GetDirectories(Path.Combine(SampleDisk.RootTree, "lib", "modules")).Single();
        string kernel = Path.GetFileName(modules);
        using var tmp = new TempDir("kmod");
        string ours = tmp[$"ours/lib/modules/{kernel}"];
        Directory.CreateDirectory(ours);
        string aliases = File.ReadAllText(Path.Combine(modules, "modules.alias"));
        File.WriteAllBytes(Path.Combine(ours, "modules.alias.bin"), KmodIndexWriter.FromModulesAlias(aliases));
        var patterns = aliases.Split('\n').Where(l => l.StartsWith("alias ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]).ToList();
        int asked = 0;
        for (int i = 0; i < patterns.Count; i += patterns.Count / 60)
        {
            // A device string the pattern matches: wildcards empty, a class by its first member.
            string device = System.Text.RegularExpressions.Regex.Replace(patterns[i], @"\[(.)[^\]]*\]", "$1").Replace("*", string.Empty).Replace('?', '0');
            var expected = ExternalTool.Run("modprobe", ["-d", SampleDisk.RootTree, "-S", kernel, "-R", device]);
            var actual = ExternalTool.Run("modprobe", ["-d", tmp["ours"], "-S", kernel, "-R", device]);
            Assert.AreEqual(expected.ExitCode, actual.ExitCode, device + ": " + actual.All);
            Assert.AreEqual(expected.StdOut, actual.StdOut, device);
            asked += expected.ExitCode == 0 ? 1 : 0;
        }
        Assert.IsGreaterThan(50, asked, "most device strings resolve");
    }

    private static (InMemoryGuestFileSystem Fs, TempDir Tmp) DebianWithRealInitramfs(string compression)
    {
        var tmp = new TempDir("append");
        const string kernel = GuestFixtures.DebianKernel;
        MakeMainTree(tmp.Path, kernel, withHyperV: false);
        Sh($"""
            mkdir -p early/kernel/x86/microcode && head -c 3000 /dev/urandom > early/kernel/x86/microcode/AuthenticAMD.bin
            (cd early && find . | sort | cpio -o -H newc --quiet) > initrd.img
            (cd main && find . | sort | cpio -o -H newc --quiet | {Compressor(compression)}) >> initrd.img
            """, tmp.Path);
        var fs = GuestFixtures.Debian12();
        fs.AddBytes($"/boot/initrd.img-{kernel}", File.ReadAllBytes(tmp["initrd.img"]));
        return (fs, tmp);
    }

    [TestMethod]
    [DataRow("zstd")]
    [DataRow("gzip")]
    [DataRow("lz4")]
    [DataRow("bzip2")]
    [DataRow("none")]
    public void Hyper_v_modules_added_to_the_main_archive_are_listed_by_lsinitramfs_and_resolved_by_modprobe(string compression)
    {
        var (fs, tmp) = DebianWithRealInitramfs(compression);
        using var _ = tmp;
        const string kernel = GuestFixtures.DebianKernel;
        string path = $"/boot/initrd.img-{kernel}";
        var modules = KernelModules.Load(fs, kernel)!;
        string? log = HyperVInitramfs.AppendDrivers(fs, path, modules, InitramfsGenerator.InitramfsTools, HyperVInitramfs.PatchedDrivers);
        Assert.IsNotNull(log);
        StringAssert.Contains(log, "scsi_transport_fc");
        byte[] patched = fs.ReadFile(path);
        File.WriteAllBytes(tmp["patched.img"], patched);

        var image = InitramfsReader.Read(patched, _ => true);
        Assert.HasCount(2, image.Segments, "early microcode and the main archive, nothing appended");
        Assert.IsEmpty(HyperVInitramfs.MissingDrivers(image, modules, HyperVInitramfs.PatchedDrivers));
        Assert.AreEqual("# modules\nhv_vmbus\nhv_storvsc\nhv_netvsc\nhv_utils\n", Encoding.UTF8.GetString(image.Find("conf/modules")!.Data));

        if (compression != "none")
        {
            // Debian's own tools read the result as an ordinary initramfs.
            string listing = ExternalTool.Run("lsinitramfs", [tmp["patched.img"]]).StdOut;
            StringAssert.Contains(listing, "kernel/x86/microcode/AuthenticAMD.bin");
            StringAssert.Contains(listing, $"usr/lib/modules/{kernel}/kernel/drivers/ata/ata_piix.ko");
            StringAssert.Contains(listing, $"usr/lib/modules/{kernel}/kernel/drivers/hv/hv_vmbus.ko");
            StringAssert.Contains(listing, $"usr/lib/modules/{kernel}/kernel/drivers/scsi/hv_storvsc.ko");
            StringAssert.Contains(listing, $"usr/lib/modules/{kernel}/kernel/drivers/scsi/scsi_transport_fc.ko");
            Sh("unmkinitramfs patched.img out", tmp.Path);
            string root = tmp["out/main/usr"];
            Assert.AreEqual("# modules\nhv_vmbus\nhv_storvsc\nhv_netvsc\nhv_utils\n", File.ReadAllText(tmp["out/main/conf/modules"]), "cpio -i must replace the old file");
            var deps = ExternalTool.Run("modprobe", ["-d", root, "-S", kernel, "--show-depends", "hv_storvsc"]);
            Assert.AreEqual(0, deps.ExitCode, deps.All);
            StringAssert.Contains(deps.StdOut, "hv_vmbus.ko");
            StringAssert.Contains(deps.StdOut, "scsi_transport_fc.ko");
            var ata = ExternalTool.Run("modprobe", ["-d", root, "-S", kernel, "--show-depends", "ata_piix"]);
            Assert.AreEqual(0, ata.ExitCode, "the merged index keeps the original initramfs's modules: " + ata.All);
            var alias = ExternalTool.Run("modprobe", ["-d", root, "-S", kernel, "-R", "vmbus:d96361baa104294db60572e2ffb1dc7f"]);
            Assert.AreEqual("hv_storvsc", alias.StdOut.Trim(), alias.All);
        }

        // Idempotent: a second run finds nothing missing and writes nothing.
        Assert.IsNull(HyperVInitramfs.AppendDrivers(fs, path, modules, InitramfsGenerator.InitramfsTools, HyperVInitramfs.PatchedDrivers));
        CollectionAssert.AreEqual(patched, fs.ReadFile(path));
    }

    [TestMethod]
    public void An_xz_initramfs_is_recompressed_with_gzip_when_the_kernel_reads_gzip()
    {
        var (fs, tmp) = DebianWithRealInitramfs("xz");
        using var _ = tmp;
        const string kernel = GuestFixtures.DebianKernel;
        fs.Add($"/boot/config-{kernel}", "CONFIG_RD_GZIP=y\nCONFIG_RD_XZ=y\nCONFIG_UDF_FS=m\n");
        string path = $"/boot/initrd.img-{kernel}";
        string? log = HyperVInitramfs.AppendDrivers(fs, path, KernelModules.Load(fs, kernel)!, InitramfsGenerator.Dracut, HyperVInitramfs.RequiredDrivers);
        StringAssert.Contains(log, "recompressed with gzip");
        File.WriteAllBytes(tmp["patched.img"], fs.ReadFile(path));
        var image = InitramfsReader.Read(fs.ReadFile(path));
        Assert.HasCount(2, image.Segments);
        Assert.AreEqual(InitramfsCompression.Gzip, image.Segments[1].Compression);
        string listing = ExternalTool.Run("lsinitramfs", [tmp["patched.img"]]).StdOut;
        StringAssert.Contains(listing, $"usr/lib/modules/{kernel}/kernel/drivers/hv/hv_vmbus.ko");
        StringAssert.Contains(listing, "etc/cmdline.d/90-azure-hyperv.conf");
    }

    [TestMethod]
    public void An_xz_initramfs_gets_an_archive_appended_that_cpio_lists_and_the_original_bytes_stay_in_front()
    {
        var (fs, tmp) = DebianWithRealInitramfs("xz");
        using var _ = tmp;
        const string kernel = GuestFixtures.DebianKernel;
        string path = $"/boot/initrd.img-{kernel}";
        byte[] original = fs.ReadFile(path);
        Assert.IsNotNull(HyperVInitramfs.AppendDrivers(fs, path, KernelModules.Load(fs, kernel)!, InitramfsGenerator.InitramfsTools, HyperVInitramfs.PatchedDrivers));
        byte[] patched = fs.ReadFile(path);
        CollectionAssert.AreEqual(original, patched.AsSpan(0, original.Length).ToArray());
        var image = InitramfsReader.Read(patched);
        Assert.HasCount(3, image.Segments);
        var last = image.Segments[^1];
        Assert.AreEqual(0, last.Offset % 4, "the kernel looks for a cpio header only at 4-aligned offsets");
        File.WriteAllBytes(tmp["appended.cpio"], patched.AsSpan((int)last.Offset).ToArray());
        string listing = Sh("cpio -t --quiet < appended.cpio", tmp.Path);
        StringAssert.Contains(listing, $"usr/lib/modules/{kernel}/kernel/drivers/hv/hv_vmbus.ko");
        StringAssert.Contains(listing, $"usr/lib/modules/{kernel}/modules.dep.bin");
        Sh("mkdir root && cd root && cpio -id --quiet < ../appended.cpio", tmp.Path);
        var deps = ExternalTool.Run("modprobe", ["-d", tmp["root/usr"], "-S", kernel, "--show-depends", "hv_storvsc"]);
        Assert.AreEqual(0, deps.ExitCode, deps.All);
        StringAssert.Contains(deps.StdOut, "hv_vmbus.ko");
    }

    [TestMethod]
    public void A_dracut_initramfs_gets_rd_driver_pre_and_modules_load_d()
    {
        var (fs, tmp) = DebianWithRealInitramfs("gzip");
        using var _ = tmp;
        string path = $"/boot/initrd.img-{GuestFixtures.DebianKernel}";
        HyperVInitramfs.AppendDrivers(fs, path, KernelModules.Load(fs, GuestFixtures.DebianKernel)!, InitramfsGenerator.Dracut, HyperVInitramfs.RequiredDrivers);
        var image = InitramfsReader.Read(fs.ReadFile(path), _ => true);
        Assert.AreEqual("rd.driver.pre=hv_vmbus,hv_storvsc\n", Encoding.UTF8.GetString(image.Find("etc/cmdline.d/90-azure-hyperv.conf")!.Data));
        Assert.AreEqual("hv_vmbus\nhv_storvsc\n", Encoding.UTF8.GetString(image.Find("etc/modules-load.d/90-azure-hyperv.conf")!.Data));
    }

    [TestMethod]
    public void Drivers_already_present_or_built_in_need_nothing()
    {
        using var tmp = new TempDir("present");
        MakeMainTree(tmp.Path, GuestFixtures.DebianKernel, withHyperV: true);
        Sh("(cd main && find . | sort | cpio -o -H newc --quiet | gzip -n) > initrd.img", tmp.Path);
        var fs = GuestFixtures.Debian12();
        fs.Add($"/boot/config-{GuestFixtures.DebianKernel}", "CONFIG_HYPERV=m\nCONFIG_HYPERV_STORAGE=y\n");
        fs.AddBytes($"/boot/initrd.img-{GuestFixtures.DebianKernel}", File.ReadAllBytes(tmp["initrd.img"]));
        var modules = KernelModules.Load(fs, GuestFixtures.DebianKernel)!;
        var image = HyperVInitramfs.ReadImage(fs, $"/boot/initrd.img-{GuestFixtures.DebianKernel}");
        Assert.IsEmpty(HyperVInitramfs.MissingDrivers(image, modules, HyperVInitramfs.RequiredDrivers));
    }

    [TestMethod]
    public void Generators_are_configured_once_for_initramfs_tools_and_dracut()
    {
        var debian = GuestFixtures.Debian12();
        Assert.HasCount(1, HyperVInitramfs.ConfigureGenerator(debian, InitramfsGenerator.InitramfsTools));
        Assert.IsEmpty(HyperVInitramfs.ConfigureGenerator(debian, InitramfsGenerator.InitramfsTools));
        StringAssert.EndsWith(debian.Text("/etc/initramfs-tools/modules"), "# sd_mod\n# Drivers Azure needs to find the OS disk (added by Azure.LinuxImage.Sdk, R7)\nhv_vmbus\nhv_storvsc\nhv_netvsc\nhv_utils\n");
        var rhel = GuestFixtures.Rhel9();
        Assert.HasCount(1, HyperVInitramfs.ConfigureGenerator(rhel, InitramfsGenerator.Dracut));
        Assert.IsEmpty(HyperVInitramfs.ConfigureGenerator(rhel, InitramfsGenerator.Dracut));
        StringAssert.Contains(rhel.Text(HyperVInitramfs.DracutConfPath), "add_drivers+=\" hv_vmbus hv_storvsc hv_netvsc hv_utils \"");
    }
}
