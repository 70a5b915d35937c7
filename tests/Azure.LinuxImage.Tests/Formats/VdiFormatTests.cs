using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Formats;

[TestClass]
public sealed class VdiFormatTests
{
    private const int TypeOffset = 0x4C;
    private const int ImageIdOffset = 0x188;
    private const int LinkIdOffset = 0x1A8;

    [TestMethod]
    [DataRow("dynamic", new string[0])]
    [DataRow("static", new[] { "-o", "static=on" })]
    public void Reads_what_qemu_reads(string name, string[] options)
    {
        using var dir = new TempDir("vdi-" + name);
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.vdi"];
        DiskFixtures.QemuConvert(raw, image, "vdi", options);
        FormatFixtures.AssertSameAsQemu(dir, image, DiskFormat.Vdi);
    }

    [TestMethod]
    public void Differencing_disk_reads_unallocated_blocks_from_the_parent_found_by_uuid()
    {
        using var dir = new TempDir("vdi-diff");
        string raw = FormatFixtures.CreateRawSource(dir);
        string parent = dir["parent-renamed.vdi"];
        DiskFixtures.QemuConvert(raw, parent, "vdi");
        // qemu-img cannot create differencing VDIs: write a dynamic VDI with qemu, then turn it into a
        // child of the parent (type 4, link UUID = parent's UUID), as VirtualBox would have made it.
        string child = dir["child.vdi"];
        ExternalTool.RunChecked("qemu-img", "create", "-f", "vdi", child, FormatFixtures.RawSize.ToString());
        ExternalTool.RunChecked("qemu-io", "-f", "vdi", "-c", "write -P 0x21 5242880 1000", "-c", "write -P 0x22 31457280 1048576", child);
        string childRaw = dir["child.raw"];
        ExternalTool.RunChecked("qemu-img", "convert", "-O", "raw", child, childRaw);
        var parentHeader = File.ReadAllBytes(parent).AsSpan(0, 512).ToArray();
        using (var s = new FileStream(child, FileMode.Open, FileAccess.ReadWrite))
        {
            var header = new byte[512];
            s.ReadExactly(header);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(TypeOffset), 4);
            parentHeader.AsSpan(ImageIdOffset, 16).CopyTo(header.AsSpan(LinkIdOffset));
            s.Position = 0;
            s.Write(header);
        }

        var expected = File.ReadAllBytes(raw);
        var childData = File.ReadAllBytes(childRaw);
        foreach (long block in new[] { 5L, 30L })
        {
            Array.Copy(childData, block << 20, expected, block << 20, 1 << 20);
        }
        string expectedPath = dir["expected.raw"];
        File.WriteAllBytes(expectedPath, expected);
        FormatFixtures.AssertSameAsQemu(dir, child, DiskFormat.Vdi, rawReference: expectedPath);
        using (var disk = DiskImageOpener.Open(child))
        {
            CollectionAssert.AreEqual(new[] { child, parent }, disk.Files.ToArray());
        }

        File.Delete(parent);
        var e = Assert.ThrowsExactly<LinuxImageException>(() => DiskImageOpener.Open(child).Dispose());
        Assert.AreEqual("LIMG0104", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "VBoxManage clonemedium");
    }

    [TestMethod]
    public void Parents_that_loop_are_an_error()
    {
        using var dir = new TempDir("vdi-loop");
        ExternalTool.RunChecked("qemu-img", "create", "-f", "vdi", dir["a.vdi"], "4M");
        ExternalTool.RunChecked("qemu-img", "create", "-f", "vdi", dir["b.vdi"], "4M");
        var a = File.ReadAllBytes(dir["a.vdi"]);
        var b = File.ReadAllBytes(dir["b.vdi"]);
        BinaryPrimitives.WriteUInt32LittleEndian(a.AsSpan(TypeOffset), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(TypeOffset), 4);
        b.AsSpan(ImageIdOffset, 16).CopyTo(a.AsSpan(LinkIdOffset));
        a.AsSpan(ImageIdOffset, 16).CopyTo(b.AsSpan(LinkIdOffset));
        File.WriteAllBytes(dir["a.vdi"], a);
        File.WriteAllBytes(dir["b.vdi"], b);
        var e = Assert.ThrowsExactly<LinuxImageException>(() => DiskImageOpener.Open(dir["a.vdi"]).Dispose());
        Assert.AreEqual("LIMG0105", e.Descriptor.Code, e.Message);
    }

    [TestMethod]
    public void Block_map_entries_past_the_end_and_huge_sizes_are_errors()
    {
        using var dir = new TempDir("vdi-bad");
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.vdi"];
        DiskFixtures.QemuConvert(raw, image, "vdi");
        var original = File.ReadAllBytes(image);
        uint mapOffset = BinaryPrimitives.ReadUInt32LittleEndian(original.AsSpan(0x154));

        var bytes = (byte[])original.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)mapOffset + 4), 60); // block 1 → a data block the file does not have
        File.WriteAllBytes(image, bytes);
        var e = Assert.ThrowsExactly<LinuxImageException>(() => VhdxFormatTests.ReadAll(image));
        Assert.IsTrue(e.Descriptor.Code is "LIMG0101" or "LIMG0102", e.Message);

        bytes = (byte[])original.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(0x170), ulong.MaxValue - 1023);
        File.WriteAllBytes(image, bytes);
        VhdxFormatTests.AssertError(image, "LIMG0102");

        bytes = (byte[])original.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(0x180), uint.MaxValue);
        File.WriteAllBytes(image, bytes);
        VhdxFormatTests.AssertError(image, "LIMG0102");

        File.WriteAllBytes(image, original.AsSpan(0, original.Length - (1536 * 1024)).ToArray());
        VhdxFormatTests.AssertError(image, "LIMG0101");
    }
}
