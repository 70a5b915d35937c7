using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Formats;

[TestClass]
public sealed class Qcow2FormatTests
{
    [TestMethod]
    [DataRow("v3-default", new string[0])]
    [DataRow("v2", new[] { "-o", "compat=0.10" })]
    [DataRow("cluster-512", new[] { "-o", "cluster_size=512" })]
    [DataRow("cluster-2M", new[] { "-o", "cluster_size=2M" })]
    [DataRow("deflate", new[] { "-c" })]
    [DataRow("deflate-v2-4k", new[] { "-c", "-o", "compat=0.10,cluster_size=4096" })]
    [DataRow("zstd", new[] { "-c", "-o", "compression_type=zstd" })]
    [DataRow("extended-l2", new[] { "-o", "extended_l2=on,cluster_size=128k" })]
    [DataRow("extended-l2-zstd", new[] { "-c", "-o", "extended_l2=on,compression_type=zstd" })]
    public void Reads_what_qemu_reads(string name, string[] options)
    {
        using var dir = new TempDir("qcow2-" + name);
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.qcow2"];
        DiskFixtures.QemuConvert(raw, image, "qcow2", options);
        FormatFixtures.AssertSameAsQemu(dir, image, DiskFormat.Qcow2);
    }

    [TestMethod]
    public void Zero_clusters_and_subcluster_writes_over_a_qcow2_backing_file()
    {
        using var dir = new TempDir("qcow2-chain");
        string raw = FormatFixtures.CreateRawSource(dir);
        DiskFixtures.QemuConvert(raw, dir["base.qcow2"], "qcow2");
        // Relative backing name: the chain must resolve against the child's folder, not the working directory.
        ExternalTool.RunChecked("qemu-img", "create", "-f", "qcow2", "-o", "extended_l2=on", "-b", "base.qcow2", "-F", "qcow2", dir["mid.qcow2"]);
        ExternalTool.RunChecked("qemu-io", "-c", "write -P 0x5a 1052672 4096", "-c", "write -z 1048576 4096", "-c", "write -P 0x11 62914560 70000", dir["mid.qcow2"]);
        ExternalTool.RunChecked("qemu-img", "create", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", dir["top.qcow2"]);
        ExternalTool.RunChecked("qemu-io", "-c", "write -z 2097152 131072", "-c", "write -P 0x77 20971520 1000", dir["top.qcow2"]);
        FormatFixtures.AssertSameAsQemu(dir, dir["top.qcow2"], DiskFormat.Qcow2);
        using var disk = DiskImageOpener.Open(dir["top.qcow2"]);
        CollectionAssert.AreEqual(new[] { dir["top.qcow2"], dir["mid.qcow2"], dir["base.qcow2"] }, disk.Files.ToArray());
    }

    [TestMethod]
    public void Raw_backing_file_and_a_larger_child()
    {
        using var dir = new TempDir("qcow2-rawbacking");
        string raw = FormatFixtures.CreateRawSource(dir);
        ExternalTool.RunChecked("qemu-img", "create", "-f", "qcow2", "-b", "source.raw", "-F", "raw", dir["top.qcow2"], (FormatFixtures.RawSize + (8 * 1024 * 1024)).ToString());
        ExternalTool.RunChecked("qemu-io", "-c", "write -P 0x42 3145728 65536", "-c", "write -P 0x43 70000000 4096", dir["top.qcow2"]);
        FormatFixtures.AssertSameAsQemu(dir, dir["top.qcow2"], DiskFormat.Qcow2);
    }

    [TestMethod]
    public void Internal_snapshots_are_ignored_and_the_active_layer_is_read()
    {
        using var dir = new TempDir("qcow2-snap");
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.qcow2"];
        DiskFixtures.QemuConvert(raw, image, "qcow2");
        ExternalTool.RunChecked("qemu-img", "snapshot", "-c", "before", image);
        ExternalTool.RunChecked("qemu-io", "-c", "write -P 0x99 1048576 65536", "-c", "write -z 20971520 1048576", "-c", "write -P 0x98 50000000 5000", image);
        ExternalTool.RunChecked("qemu-img", "snapshot", "-c", "after", image);
        ExternalTool.RunChecked("qemu-io", "-c", "write -P 0x97 2097152 4096", image);
        FormatFixtures.AssertSameAsQemu(dir, image, DiskFormat.Qcow2);
    }

    [TestMethod]
    public void A_chain_that_loops_is_an_error()
    {
        using var dir = new TempDir("qcow2-loop");
        ExternalTool.RunChecked("qemu-img", "create", "-f", "qcow2", dir["a.qcow2"], "1M");
        ExternalTool.RunChecked("qemu-img", "create", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", dir["b.qcow2"]);
        // Point a back at b without qemu's own loop check.
        ExternalTool.RunChecked("qemu-img", "rebase", "-u", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2", dir["a.qcow2"]);
        var e = Assert.ThrowsExactly<LinuxImageException>(() => DiskImageOpener.Open(dir["b.qcow2"]).Dispose());
        Assert.AreEqual("LIMG0105", e.Descriptor.Code);
    }

    [TestMethod]
    public void A_missing_backing_file_names_what_was_tried()
    {
        using var dir = new TempDir("qcow2-missing");
        ExternalTool.RunChecked("qemu-img", "create", "-f", "qcow2", "-u", "-b", "gone.qcow2", "-F", "qcow2", dir["top.qcow2"], "1M");
        var e = Assert.ThrowsExactly<LinuxImageException>(() => DiskImageOpener.Open(dir["top.qcow2"]).Dispose());
        Assert.AreEqual("LIMG0104", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "gone.qcow2");
    }

    [TestMethod]
    public void Encrypted_image_is_refused_with_a_clear_error()
    {
        using var dir = new TempDir("qcow2-luks");
        // qemu calibrates the LUKS key derivation by CPU time and now and then measures none
        // ("Unable to get accurate CPU usage"); that is qemu's flake, so it gets a few tries.
        ExternalTool.Result created = null!;
        for (int attempt = 0; attempt < 5 && created?.ExitCode != 0; attempt++)
        {
            created = ExternalTool.Run("qemu-img", ["create", "--object", "secret,id=sec0,data=123456", "-f", "qcow2",
                "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", dir["enc.qcow2"], "4M"]);
        }
        Assert.AreEqual(0, created.ExitCode, created.All);
        var e = Assert.ThrowsExactly<LinuxImageException>(() => DiskImageOpener.Open(dir["enc.qcow2"]).Dispose());
        Assert.AreEqual("LIMG0200", e.Descriptor.Code);
        Assert.AreEqual(dir["enc.qcow2"], e.File);
    }

    [TestMethod]
    public void External_data_file_is_refused_with_a_clear_error()
    {
        using var dir = new TempDir("qcow2-extdata");
        ExternalTool.RunChecked("qemu-img", "create", "-f", "qcow2", "-o", "data_file=data.raw", dir["ext.qcow2"], "4M");
        var e = Assert.ThrowsExactly<LinuxImageException>(() => DiskImageOpener.Open(dir["ext.qcow2"]).Dispose());
        Assert.AreEqual("LIMG0201", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "data.raw");
    }
}
