using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Conversion;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Engine.Disks.Vhd;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Disks;

[TestClass]
public sealed class VhdFormatTests
{
    private const long MiB = 1024 * 1024;

    [TestMethod]
    [DataRow(1L * MiB)]
    [DataRow(127L * MiB)]
    [DataRow(1000L * MiB)]
    [DataRow(20481L * MiB)]
    [DataRow(130000L * MiB)]
    [DataRow(2039L * 1024 * MiB + 12345)]
    public void Geometry_MatchesQemuImg(long size)
    {
        using var dir = new TempDir();
        string path = dir["g.vhd"];
        // Without force_size qemu picks the geometry by the specification's algorithm and sizes the
        // disk by it; the algorithm applied to that size must give the same geometry back.
        ExternalTool.RunChecked("qemu-img", "create", "-f", "vpc", "-o", "subformat=fixed", path, size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var footer = ReadFooterBytes(path);
        var ours = VhdGeometry.FromSize((long)BinaryPrimitives.ReadUInt64BigEndian(footer.AsSpan(48)));
        Assert.AreEqual(BinaryPrimitives.ReadUInt16BigEndian(footer.AsSpan(56)), ours.Cylinders);
        Assert.AreEqual(footer[58], ours.Heads);
        Assert.AreEqual(footer[59], ours.SectorsPerTrack);
        Assert.AreEqual(BinaryPrimitives.ReadUInt32BigEndian(footer.AsSpan(64)), VhdFooter.ComputeChecksum(footer), "our checksum of qemu's footer");
    }

    [TestMethod]
    public void DynamicVhdFromQemu_ReadsIdenticalToRaw_AndReportsOnlyAllocatedBlocks()
    {
        using var dir = new TempDir();
        string raw = DiskFixtures.Raw(dir["d.raw"], 64 * MiB, 0, 9 * MiB + 4096, 40 * MiB);
        string vhd = DiskFixtures.QemuConvert(raw, dir["d.vhd"], "vpc", "-o", "subformat=dynamic,force_size=on");

        using var image = DiskImageOpener.Open(vhd);

        Assert.AreEqual(DiskFormat.VhdDynamic, image.Format);
        Assert.AreEqual(DiskFixtures.QemuVirtualSize(vhd, "vpc"), image.Length);
        var expected = File.ReadAllBytes(raw);
        var actual = new byte[image.Length];
        image.ReadAt(0, actual);
        CollectionAssert.AreEqual(expected, actual);
        long allocated = image.GetAllocatedExtents().Sum(e => e.Length);
        Assert.IsTrue(allocated <= 3 * 2 * MiB, $"{allocated} bytes reported allocated for three 64 KiB runs");
    }

    [TestMethod]
    public void DifferencingVhd_ReadsChildSectorsOverParent()
    {
        using var dir = new TempDir();
        string raw = DiskFixtures.Raw(dir["p.raw"], 16 * MiB, 0, 3 * MiB);
        string parent = DiskFixtures.QemuConvert(raw, dir["parent.vhd"], "vpc", "-o", "subformat=dynamic,force_size=on");
        var patch = Enumerable.Range(0, 1024).Select(i => (byte)(i * 7)).ToArray();
        VhdBuilder.CreateDifferencing(dir["child.vhd"], parent, [(3 * MiB + 512, patch), (10 * MiB, patch)]);

        using var image = DiskImageOpener.Open(dir["child.vhd"]);

        Assert.AreEqual(DiskFormat.VhdDifferencing, image.Format);
        var expected = File.ReadAllBytes(raw);
        patch.CopyTo(expected, 3 * MiB + 512);
        patch.CopyTo(expected, 10 * MiB);
        var actual = new byte[image.Length];
        image.ReadAt(0, actual);
        CollectionAssert.AreEqual(expected, actual);
        CollectionAssert.AreEqual(new[] { Path.GetFullPath(dir["child.vhd"]), Path.GetFullPath(parent) }, image.Files.ToArray());
    }

    [TestMethod]
    public void DifferencingVhd_ParentLoop_IsAnError()
    {
        using var dir = new TempDir();
        string raw = DiskFixtures.Raw(dir["p.raw"], 4 * MiB, 0);
        string parent = DiskFixtures.QemuConvert(raw, dir["a.vhd"], "vpc", "-o", "subformat=dynamic,force_size=on");
        // b's parent is a; then a is replaced by a differencing disk whose parent is b.
        VhdBuilder.CreateDifferencing(dir["b.vhd"], parent, [(0, new byte[512])]);
        VhdBuilder.CreateDifferencing(dir["a2.vhd"], dir["b.vhd"], [(0, new byte[512])], ".\\a.vhd");
        File.Move(dir["a2.vhd"], parent, overwrite: true);

        var e = Assert.ThrowsExactly<LinuxImageException>(() => DiskImageOpener.Open(dir["b.vhd"]));
        Assert.AreEqual("LIMG0105", e.Descriptor.Code, e.Message);
    }

    [TestMethod]
    public void FixedVhdFromOldQemu_WarnsAboutAmbiguousSize_AndKeepsAllData()
    {
        using var dir = new TempDir();
        string raw = DiskFixtures.Raw(dir["o.raw"], 20 * MiB + 512, 0, 20 * MiB - 4096);
        string vhd = DiskFixtures.QemuConvert(raw, dir["o.vhd"], "vpc", "-o", "subformat=fixed");

        using var image = DiskImageOpener.Open(vhd);

        Assert.AreEqual(new FileInfo(vhd).Length - 512, image.Length);
        Assert.IsTrue(image.Warnings.Any(w => w.Code == "LIMG0107"));
    }

    [TestMethod]
    [DataRow(0L, DisplayName = "empty file")]
    [DataRow(1000L, DisplayName = "text")]
    public void NonDisk_IsRejected(long size)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir["x"], Enumerable.Repeat((byte)'a', (int)size).ToArray());
        var e = Assert.ThrowsExactly<LinuxImageException>(() => DiskImageOpener.Open(dir["x"]));
        Assert.AreEqual("LIMG0100", e.Descriptor.Code);
    }

    [TestMethod]
    [Timeout(30_000, CooperativeCancellation = true)]
    public void NamedPipe_IsRefusedWithoutBlocking()
    {
        using var dir = new TempDir();
        ExternalTool.RunChecked("mkfifo", dir["pipe"]);
        var e = Assert.ThrowsExactly<LinuxImageException>(() => DiskImageOpener.Open(dir["pipe"]));
        Assert.AreEqual("LIMG0100", e.Descriptor.Code);
    }

    [TestMethod]
    public void HugeSizeInFooter_IsRejectedWithoutAllocating()
    {
        using var dir = new TempDir();
        string raw = DiskFixtures.Raw(dir["h.raw"], 4 * MiB, 0);
        string vhd = DiskFixtures.QemuConvert(raw, dir["h.vhd"], "vpc", "-o", "subformat=dynamic,force_size=on");
        using (var s = new FileStream(vhd, FileMode.Open))
        {
            foreach (long at in new[] { 0L, s.Length - 512 })
            {
                var footer = new byte[512];
                s.Position = at;
                s.ReadExactly(footer);
                BinaryPrimitives.WriteUInt64BigEndian(footer.AsSpan(48), ulong.MaxValue - 511);
                BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(64), VhdFooter.ComputeChecksum(footer));
                s.Position = at;
                s.Write(footer);
            }
        }
        var e = Assert.ThrowsExactly<LinuxImageException>(() => DiskImageOpener.Open(vhd));
        Assert.AreEqual("LIMG0102", e.Descriptor.Code);
    }

    [TestMethod]
    public void Converter_NeverWritesTheSource()
    {
        using var dir = new TempDir();
        string raw = DiskFixtures.Raw(dir["s.raw"], 8 * MiB + 5, 4096, 4 * MiB);
        var before = File.ReadAllBytes(raw);
        var stamp = File.GetLastWriteTimeUtc(raw);
        FixedVhdConverter.Convert(new ConvertOptions(raw, dir["o.vhd"]));
        CollectionAssert.AreEqual(before, File.ReadAllBytes(raw));
        Assert.AreEqual(stamp, File.GetLastWriteTimeUtc(raw));
        var e = Assert.ThrowsExactly<LinuxImageException>(() => FixedVhdConverter.Convert(new ConvertOptions(raw, raw)));
        Assert.AreEqual("LIMG0007", e.Descriptor.Code);
    }

    private static byte[] ReadFooterBytes(string path)
    {
        var footer = new byte[512];
        using var s = File.OpenRead(path);
        s.Position = s.Length - 512;
        s.ReadExactly(footer);
        return footer;
    }
}
