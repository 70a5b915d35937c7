using Azure.LinuxImage.Engine.Guest.Distributions;
using Azure.LinuxImage.Engine.Guest.Initramfs;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Guest;

/// <summary>
/// The drivers go into a large gzip or zstd initramfs without recompressing it: all but the tail of
/// the compressed stream is kept byte for byte, and the distributions' own tools (gzip -t,
/// zstd -t, lsinitramfs, unmkinitramfs, dracut's lsinitrd) still read one archive that lists them.
/// </summary>
[TestClass]
public sealed class InitramfsAppendTests
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

    [TestMethod]
    [DataRow("gzip -9 -n", "gzip -t")]
    [DataRow("gzip -1 -n", "gzip -t")]
    [DataRow("zstd -q -19 -c", "zstd -q -t")]
    [DataRow("zstd -q -3 -c --no-check", "zstd -q -t")]
    [DataRow("zstd -q -c --content-size main.cpio > main.z #", "zstd -q -t")]
    public void A_large_archive_keeps_its_compressed_bytes_and_the_tools_list_the_drivers(string compressor, string integrity)
    {
        using var tmp = new TempDir("append-large");
        const string kernel = GuestFixtures.DebianKernel;
        // Several MiB of mixed data: many deflate blocks / zstd blocks before the trailer.
        Sh($"""
            mkdir -p main/usr/lib/modules/{kernel}/kernel/drivers/ata main/conf main/usr/bin early/kernel/x86/microcode
            echo ata > main/usr/lib/modules/{kernel}/kernel/drivers/ata/ata_piix.ko
            printf 'kernel/drivers/ata/ata_piix.ko:\n' > main/usr/lib/modules/{kernel}/modules.dep
            printf 'alias pci:v00008086d00007111sv*sd*bc*sc*i* ata_piix\n' > main/usr/lib/modules/{kernel}/modules.alias
            printf '# modules\n' > main/conf/modules
            for i in 1 2 3 4 5 6; do head -c 700000 /dev/urandom | base64 > main/usr/bin/tool$i; done
            head -c 1500000 /dev/urandom > main/usr/bin/random
            seq 1 300000 > main/usr/bin/numbers
            head -c 3000 /dev/urandom > early/kernel/x86/microcode/AuthenticAMD.bin
            (cd early && find . | sort | cpio -o -H newc --quiet) > initrd.img
            (cd main && find . | sort | cpio -o -H newc --quiet) > main.cpio
            {compressor} < main.cpio > main.z
            cat main.z >> initrd.img
            """, tmp.Path);
        var fs = GuestFixtures.Debian12();
        string path = $"/boot/initrd.img-{kernel}";
        byte[] original = File.ReadAllBytes(tmp["initrd.img"]);
        fs.AddBytes(path, original);

        string? log = HyperVInitramfs.AppendDrivers(fs, path, KernelModules.Load(fs, kernel)!, InitramfsGenerator.InitramfsTools, HyperVInitramfs.PatchedDrivers);
        StringAssert.Contains(log, "re-encoded");
        byte[] patched = fs.ReadFile(path);
        // Kept byte for byte but for a frame's content size, rewritten in its header.
        int kept = original.Length - (512 * 1024);
        Assert.IsGreaterThan(kept, patched.Length);
        int differing = Enumerable.Range(0, kept).Count(i => original[i] != patched[i]);
        Assert.IsLessThanOrEqualTo(8, differing, $"only the tail is re-encoded: {differing} of the first {kept} bytes differ");
        File.WriteAllBytes(tmp["patched.img"], patched);
        int early = (int)InitramfsReader.Read(original).Segments[1].Offset;
        File.WriteAllBytes(tmp["patched.z"], patched.AsSpan(early).ToArray());

        Sh($"{integrity} patched.z", tmp.Path);
        string listing = ExternalTool.Run("lsinitramfs", [tmp["patched.img"]]).StdOut;
        StringAssert.Contains(listing, "kernel/x86/microcode/AuthenticAMD.bin");
        StringAssert.Contains(listing, "usr/bin/tool6");
        StringAssert.Contains(listing, $"usr/lib/modules/{kernel}/kernel/drivers/hv/hv_vmbus.ko");
        StringAssert.Contains(listing, $"usr/lib/modules/{kernel}/kernel/drivers/scsi/hv_storvsc.ko");
        string lsinitrd = ExternalTool.Run("lsinitrd", [tmp["patched.img"]]).StdOut;
        StringAssert.Contains(lsinitrd, $"usr/lib/modules/{kernel}/kernel/drivers/scsi/hv_storvsc.ko");
        StringAssert.Contains(lsinitrd, "usr/bin/numbers");
        Sh("unmkinitramfs patched.img out && cmp out/main/usr/bin/random main/usr/bin/random && cmp out/main/usr/bin/tool1 main/usr/bin/tool1", tmp.Path);
        Assert.AreEqual("# modules\nhv_vmbus\nhv_storvsc\nhv_netvsc\nhv_utils\n", File.ReadAllText(tmp["out/main/conf/modules"]));

        var image = InitramfsReader.Read(patched);
        Assert.HasCount(2, image.Segments);
        Assert.IsEmpty(HyperVInitramfs.MissingDrivers(image, KernelModules.Load(fs, kernel), HyperVInitramfs.PatchedDrivers));
    }

    /// <summary>
    /// The cut found while listing (the system's zlib stopping at each deflate block; zstd fed block
    /// by block, natively or managed) gives the very bytes the separate second pass gave, including
    /// when more output follows the trailer than the listing keeps (5 MiB of zero padding).
    /// </summary>
    [TestMethod]
    [DataRow("gzip -9 -n", false)]
    [DataRow("gzip -6 -n", true)]
    [DataRow("zstd -q -3 -c", false)]
    [DataRow("zstd -q -19 -c", true)]
    public void The_one_pass_cut_equals_a_second_pass_with_and_without_the_system_libraries(string compressor, bool padded)
    {
        using var tmp = new TempDir("append-onepass");
        const string kernel = GuestFixtures.DebianKernel;
        string padding = padded ? "head -c 5242880 /dev/zero >> main.cpio" : "true";
        Sh($"""
            mkdir -p main/usr/lib/modules/{kernel}/kernel/drivers/ata main/conf main/usr/bin
            echo ata > main/usr/lib/modules/{kernel}/kernel/drivers/ata/ata_piix.ko
            printf 'kernel/drivers/ata/ata_piix.ko:\n' > main/usr/lib/modules/{kernel}/modules.dep
            printf '# modules\n' > main/conf/modules
            for i in 1 2 3; do head -c 900000 /dev/urandom | base64 > main/usr/bin/tool$i; done
            head -c 1200000 /dev/urandom > main/usr/bin/random
            seq 1 400000 > main/usr/bin/numbers
            (cd main && find . | sort | cpio -o -H newc --quiet) > main.cpio
            {padding}
            {compressor} < main.cpio > initrd.img
            """, tmp.Path);
        byte[] original = File.ReadAllBytes(tmp["initrd.img"]);
        string path = $"/boot/initrd.img-{kernel}";

        byte[] Patch(bool native)
        {
            bool before = NativeCompression.Disabled;
            NativeCompression.Disabled = !native;
            try
            {
                var fs = GuestFixtures.Debian12();
                fs.AddBytes(path, original);
                string? log = HyperVInitramfs.AppendDrivers(fs, path, KernelModules.Load(fs, kernel)!, InitramfsGenerator.InitramfsTools, HyperVInitramfs.PatchedDrivers);
                StringAssert.Contains(log, "re-encoded");
                return fs.ReadFile(path);
            }
            finally
            {
                NativeCompression.Disabled = before;
            }
        }

        byte[] withLibraries = Patch(native: true);
        byte[] managed = Patch(native: false);
        CollectionAssert.AreEqual(managed, withLibraries, "the system libraries' one pass and the managed path differ");

        // The appender on its own, with no cut from the listing: the separate second pass.
        var last = InitramfsReader.Read(original).Segments[^1];
        // Past the kept output, gzip's cut is left to the scanner; zstd's block is known, its tail decoded again.
        Assert.IsTrue(last.ZstdCut is not null || (last.DeflateCut is not null) != padded, "the listing found no cut");
        byte[] archive = CpioNewc.Write([new CpioEntry("etc/added", CpioEntry.RegularType | 0x1A4, 0, 0, 1, "added\n"u8.ToArray())], 0x7A000000);
        byte[]? fromCut = InitramfsAppender.TryAppend(original, last, archive, out _);
        byte[]? secondPass = InitramfsAppender.TryAppend(original, last with { DeflateCut = null, ZstdCut = null }, archive, out _);
        Assert.IsNotNull(fromCut);
        CollectionAssert.AreEqual(secondPass, fromCut, "the listing's cut and a second pass differ");

        File.WriteAllBytes(tmp["patched.img"], withLibraries);
        Sh($"{compressor.Split(' ')[0]} -t patched.img", tmp.Path);
        string listing = ExternalTool.Run("lsinitramfs", [tmp["patched.img"]]).StdOut;
        StringAssert.Contains(listing, $"usr/lib/modules/{kernel}/kernel/drivers/scsi/hv_storvsc.ko");
        StringAssert.Contains(listing, "usr/bin/numbers");
        Sh("unmkinitramfs patched.img out && cmp out/usr/bin/random main/usr/bin/random", tmp.Path);
    }

    [TestMethod]
    public void A_damaged_gzip_stream_is_refused_not_patched()
    {
        using var tmp = new TempDir("append-damaged");
        const string kernel = GuestFixtures.DebianKernel;
        Sh($"""
            mkdir -p main/usr/lib/modules/{kernel} main/conf
            printf 'kernel/drivers/ata/ata_piix.ko:\n' > main/usr/lib/modules/{kernel}/modules.dep
            seq 1 200000 > main/numbers
            (cd main && find . | sort | cpio -o -H newc --quiet | gzip -9 -n) > initrd.img
            """, tmp.Path);
        byte[] data = File.ReadAllBytes(tmp["initrd.img"]);
        // A flipped bit in the middle: .NET's inflater (the reader) and ours must both refuse it.
        data[data.Length / 2] ^= 0x10;
        var fs = GuestFixtures.Debian12();
        fs.AddBytes($"/boot/initrd.img-{kernel}", data);
        var ex = Assert.ThrowsExactly<Azure.LinuxImage.Engine.Diagnostics.LinuxImageException>(() =>
            HyperVInitramfs.AppendDrivers(fs, $"/boot/initrd.img-{kernel}", KernelModules.Load(fs, kernel)!, InitramfsGenerator.InitramfsTools, HyperVInitramfs.PatchedDrivers));
        Assert.AreEqual("LIMG0440", ex.Descriptor.Code);
        CollectionAssert.AreEqual(data, fs.ReadFile($"/boot/initrd.img-{kernel}"));
    }
}
