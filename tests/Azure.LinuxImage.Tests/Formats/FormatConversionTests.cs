using Azure.LinuxImage.Engine.Conversion;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Formats;

/// <summary>End to end: each source format through the convert step must give a fixed VHD whose data qemu-img finds identical to the raw source.</summary>
[TestClass]
public sealed class FormatConversionTests
{
    [TestMethod]
    [DataRow("qcow2", new[] { "-c", "-o", "compression_type=zstd" })]
    [DataRow("qcow2", new[] { "-o", "extended_l2=on" })]
    [DataRow("vhdx", new string[0])]
    [DataRow("vmdk", new[] { "-o", "subformat=streamOptimized" })]
    [DataRow("vmdk", new[] { "-o", "subformat=twoGbMaxExtentFlat" })]
    [DataRow("vdi", new string[0])]
    public void Fixed_vhd_from_each_format_is_identical_to_the_raw_source(string format, string[] options)
    {
        using var dir = new TempDir("convert-" + format);
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk." + format];
        DiskFixtures.QemuConvert(raw, image, format, options);
        string vhd = dir["out.vhd"];
        var result = FixedVhdConverter.Convert(new ConvertOptions(image, vhd));
        Assert.AreEqual(0, result.VirtualSize % (1024 * 1024), "R2: a whole number of MiB");
        var compare = ExternalTool.Run("qemu-img", ["compare", "-f", "raw", "-F", "vpc", raw, vhd]);
        Assert.AreEqual(0, compare.ExitCode, compare.All);
        // About 3.6 MiB of data in a 64 MiB disk: the output must not have filled its holes.
        Assert.IsLessThan(FormatFixtures.RawSize / 4, AllocatedBytes(vhd), "holes must stay holes");
    }

    private static long AllocatedBytes(string path)
    {
        var stat = ExternalTool.RunChecked("stat", "-c", "%b %B", path).StdOut.Split(' ');
        return long.Parse(stat[0]) * long.Parse(stat[1]);
    }
}
