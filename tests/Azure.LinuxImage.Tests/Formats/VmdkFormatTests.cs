using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Formats;

[TestClass]
public sealed class VmdkFormatTests
{
    [TestMethod]
    [DataRow("monolithicSparse", new[] { "-o", "subformat=monolithicSparse" })]
    [DataRow("monolithicSparse-zeroed-grain", new[] { "-o", "subformat=monolithicSparse,zeroed_grain=on" })]
    [DataRow("streamOptimized", new[] { "-o", "subformat=streamOptimized" })]
    [DataRow("monolithicFlat", new[] { "-o", "subformat=monolithicFlat" })]
    [DataRow("twoGbMaxExtentSparse", new[] { "-o", "subformat=twoGbMaxExtentSparse" })]
    [DataRow("twoGbMaxExtentFlat", new[] { "-o", "subformat=twoGbMaxExtentFlat" })]
    public void Reads_what_qemu_reads(string name, string[] options)
    {
        using var dir = new TempDir("vmdk-" + name);
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.vmdk"];
        DiskFixtures.QemuConvert(raw, image, "vmdk", options);
        FormatFixtures.AssertSameAsQemu(dir, image, DiskFormat.Vmdk);
        using var disk = DiskImageOpener.Open(image);
        Assert.AreEqual(name.Split('-')[0], ((Azure.LinuxImage.Engine.Disks.Vmdk.VmdkDiskImage)disk).Descriptor.CreateType);
    }

    [TestMethod]
    public void Split_extents_of_a_large_sparse_disk()
    {
        // twoGbMaxExtent* only splits past 2 GiB: a sparse 4.1 GiB disk with data in the second and third extents.
        using var dir = new TempDir("vmdk-split");
        string raw = dir["big.raw"];
        using (var s = new FileStream(raw, FileMode.Create)) { s.SetLength((4L << 30) + (1 << 20)); }
        ExternalTool.RunChecked("qemu-io", "-f", "raw", "-c", "write -P 0x33 0 1M", "-c", "write -P 0x44 2147418112 131072", "-c", "write -P 0x55 4294967296 1048576", raw);
        foreach (string sub in new[] { "twoGbMaxExtentSparse", "twoGbMaxExtentFlat" })
        {
            string image = dir[sub + ".vmdk"];
            DiskFixtures.QemuConvert(raw, image, "vmdk", "-o", "subformat=" + sub);
            using var disk = DiskImageOpener.Open(image);
            Assert.AreEqual(DiskFixtures.QemuVirtualSize(image), disk.Length);
            Assert.IsTrue(disk.Files.Count >= 3, string.Join(", ", disk.Files));
            foreach (long at in new[] { 0L, 2147418112L - 4096, 4294967296L - 4096 })
            {
                var actual = new byte[1 << 20];
                disk.ReadAt(at, actual);
                using var fs = new FileStream(raw, FileMode.Open, FileAccess.Read);
                var want = new byte[actual.Length];
                fs.Position = at;
                fs.ReadExactly(want);
                FormatFixtures.AssertBytesEqual(want, actual, $"{sub} at {at}");
            }
        }
    }

    [TestMethod]
    public void Delta_disk_reads_unwritten_grains_from_its_parent()
    {
        using var dir = new TempDir("vmdk-delta");
        string raw = FormatFixtures.CreateRawSource(dir);
        DiskFixtures.QemuConvert(raw, dir["base.vmdk"], "vmdk");
        ExternalTool.RunChecked("qemu-img", "create", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", dir["delta.vmdk"]);
        ExternalTool.RunChecked("qemu-io", "-c", "write -P 0x66 1048576 4096", "-c", "write -P 0x67 30000000 100000", dir["delta.vmdk"]);
        FormatFixtures.AssertSameAsQemu(dir, dir["delta.vmdk"], DiskFormat.Vmdk);
    }

    [TestMethod]
    public void Missing_extent_file_names_it()
    {
        using var dir = new TempDir("vmdk-missing");
        string raw = FormatFixtures.CreateRawSource(dir);
        DiskFixtures.QemuConvert(raw, dir["disk.vmdk"], "vmdk", "-o", "subformat=monolithicFlat");
        File.Delete(dir["disk-flat.vmdk"]);
        var e = Assert.ThrowsExactly<LinuxImageException>(() => DiskImageOpener.Open(dir["disk.vmdk"]).Dispose());
        Assert.AreEqual("LIMG0206", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "disk-flat.vmdk");
    }

    [TestMethod]
    public void Damaged_stream_optimized_grain_is_an_error()
    {
        using var dir = new TempDir("vmdk-badgrain");
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.vmdk"];
        DiskFixtures.QemuConvert(raw, image, "vmdk", "-o", "subformat=streamOptimized");
        // The first grain with data (1 MiB into the disk) follows the header area; garble its deflate stream.
        var bytes = File.ReadAllBytes(image);
        int marker = FindGrainMarker(bytes, 1024 * 1024 / 512);
        for (int i = marker + 14; i < marker + 200; i++)
        {
            bytes[i] ^= 0x5A;
        }
        File.WriteAllBytes(image, bytes);
        VhdxFormatTests.AssertError(image, "LIMG0202");
    }

    [TestMethod]
    public void Grain_table_pointing_into_the_headers_or_past_the_end_is_an_error()
    {
        using var dir = new TempDir("vmdk-badgt");
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.vmdk"];
        DiskFixtures.QemuConvert(raw, image, "vmdk");
        var original = File.ReadAllBytes(image);
        var header = Azure.LinuxImage.Engine.Disks.Vmdk.VmdkSparseHeader.Parse(original);
        long gd = (long)header.GdOffset * 512;
        long gt = BitConverter.ToUInt32(original, (int)gd) * 512L;
        long grainEntry = gt + ((1024 * 1024 / 65536) * 4); // grain 16 = guest offset 1 MiB
        foreach (uint bad in new uint[] { 2, uint.MaxValue })
        {
            var bytes = (byte[])original.Clone();
            BitConverter.TryWriteBytes(bytes.AsSpan((int)grainEntry), bad);
            File.WriteAllBytes(image, bytes);
            VhdxFormatTests.AssertError(image, "LIMG0102");
        }
        var truncated = original.AsSpan(0, original.Length / 2).ToArray();
        File.WriteAllBytes(image, truncated);
        var e = Assert.ThrowsExactly<LinuxImageException>(() => VhdxFormatTests.ReadAll(image));
        Assert.IsTrue(e.Descriptor.Code is "LIMG0101" or "LIMG0102", e.Message);
    }

    [TestMethod]
    public void Delta_chain_that_loops_is_an_error()
    {
        using var dir = new TempDir("vmdk-loop");
        ExternalTool.RunChecked("qemu-img", "create", "-f", "vmdk", dir["x.vmdk"], "1M");
        ExternalTool.RunChecked("qemu-img", "create", "-f", "vmdk", dir["y.vmdk"], "1M");
        File.WriteAllText(dir["a.vmdk"], Descriptor("b.vmdk", "x.vmdk"));
        File.WriteAllText(dir["b.vmdk"], Descriptor("a.vmdk", "y.vmdk"));
        var e = Assert.ThrowsExactly<LinuxImageException>(() => DiskImageOpener.Open(dir["a.vmdk"]).Dispose());
        Assert.AreEqual("LIMG0105", e.Descriptor.Code, e.Message);
    }

    [TestMethod]
    public void Sizes_near_2_to_the_64_are_errors()
    {
        using var dir = new TempDir("vmdk-huge");
        File.WriteAllText(dir["zero.vmdk"], "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
            + "RW 18446744073709551000 ZERO\n");
        VhdxFormatTests.AssertError(dir["zero.vmdk"], "LIMG0205");

        ExternalTool.RunChecked("qemu-img", "create", "-f", "vmdk", dir["sparse.vmdk"], "1M");
        var bytes = File.ReadAllBytes(dir["sparse.vmdk"]);
        BitConverter.TryWriteBytes(bytes.AsSpan(12), ulong.MaxValue - 7); // capacity in sectors
        File.WriteAllBytes(dir["sparse.vmdk"], bytes);
        File.WriteAllText(dir["desc.vmdk"], "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"twoGbMaxExtentSparse\"\n"
            + "RW 2048 SPARSE \"sparse.vmdk\"\n");
        // The damaged file is the extent, and the error names it.
        var e = Assert.ThrowsExactly<LinuxImageException>(() => VhdxFormatTests.ReadAll(dir["desc.vmdk"]));
        Assert.AreEqual("LIMG0102", e.Descriptor.Code, e.Message);
        Assert.AreEqual(dir["sparse.vmdk"], e.File);
    }

    private static string Descriptor(string parent, string extent) =>
        "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=12345678\ncreateType=\"twoGbMaxExtentSparse\"\n"
        + $"parentFileNameHint=\"{parent}\"\nRW 2048 SPARSE \"{extent}\"\n";

    private static int FindGrainMarker(byte[] bytes, long lba)
    {
        for (int at = 512; at + 12 < bytes.Length; at += 512)
        {
            if (BitConverter.ToUInt64(bytes, at) == (ulong)lba && BitConverter.ToUInt32(bytes, at + 8) is > 0 and < 200_000)
            {
                return at;
            }
        }
        Assert.Fail("no grain marker found");
        return -1;
    }
}
