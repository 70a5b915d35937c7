using Azure.LinuxImage.Engine.Conversion;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Conversion;

/// <summary>
/// Conversion clones plain data ranges where the build folder's file system shares extents (XFS
/// with reflink, loop-mounted here as root) and copies them in the kernel elsewhere; qemu-img
/// compare judges the output, filefrag shows which extents are shared.
/// </summary>
[TestClass]
public sealed class FileRangeClonerTests
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

    /// <summary>48 MiB of data in runs with holes between them, some of it zeros, in a 256 MiB disk.</summary>
    private static void MakeRaw(string path) => Sh($"""
        truncate -s 256M {path}
        for i in 0 3 7 11 15 19 23 27 31 35; do head -c 4194304 /dev/urandom | dd of={path} bs=1M seek=$((i * 7 + 1)) conv=notrunc status=none; done
        head -c 8388608 /dev/zero | dd of={path} bs=1M seek=200 conv=notrunc status=none
        printf 'abc' | dd of={path} bs=1 seek=$((210 * 1048576 + 5)) conv=notrunc status=none
        """);

    private static string Source(string dir, string raw, string format) => format switch
    {
        "raw" => raw,
        "vpc" => Convert(raw, dir, "src.vhd", "-O vpc -o subformat=fixed,force_size=on"),
        "qcow2" => Convert(raw, dir, "src.qcow2", "-O qcow2"),
        "qcow2-compressed" => Convert(raw, dir, "src.qcow2", "-O qcow2 -c"),
        "vdi" => Convert(raw, dir, "src.vdi", "-O vdi"),
        "vhdx" => Convert(raw, dir, "src.vhdx", "-O vhdx"),
        _ => throw new ArgumentException(format),
    };

    private static string Convert(string raw, string dir, string name, string args)
    {
        string path = Path.Combine(dir, name);
        Sh($"qemu-img convert -f raw {args} {raw} {path}");
        return path;
    }

    [TestMethod]
    [DataRow("raw", true)]
    [DataRow("vpc", true)]
    [DataRow("qcow2", true)]
    [DataRow("vhdx", true)]
    // qemu-img places a small VDI's data 512-aligned, not block-aligned: copied in the kernel instead.
    [DataRow("vdi", false)]
    public void On_xfs_with_reflink_plain_data_is_shared_with_the_source_and_the_image_is_exact(string format, bool shared)
    {
        using var tmp = new TempDir("clone-xfs");
        string mount = tmp["mnt"];
        Sh($"truncate -s 1G xfs.img && mkfs.xfs -q -m reflink=1 xfs.img && mkdir mnt && mount -o loop xfs.img mnt", tmp.Path);
        try
        {
            string raw = Path.Combine(mount, "disk.raw");
            MakeRaw(raw);
            string source = Source(mount, raw, format);
            string output = Path.Combine(mount, "out.vhd");
            var result = FixedVhdConverter.Convert(new ConvertOptions(source, output));
            Sh($"qemu-img compare -f raw -F vpc {raw} {output}");
            string frag = Sh($"filefrag -v {output}");
            Assert.AreEqual(shared, frag.Contains("shared", StringComparison.Ordinal), frag);
            Assert.IsGreaterThanOrEqualTo(40L << 20, result.DataBytesWritten);
        }
        finally
        {
            ExternalTool.Run("umount", [mount]);
        }
    }

    [TestMethod]
    [DataRow("qcow2")]
    [DataRow("qcow2-compressed")]
    [DataRow("raw")]
    public void Where_extents_cannot_be_shared_the_kernel_copies_and_the_image_is_exact(string format)
    {
        using var tmp = new TempDir("clone-here");
        string raw = tmp["disk.raw"];
        MakeRaw(raw);
        string source = Source(tmp.Path, raw, format);
        string output = tmp["out.vhd"];
        FixedVhdConverter.Convert(new ConvertOptions(source, output));
        Sh($"qemu-img compare -f raw -F vpc {raw} {output}");
        // Holes stay holes: the output holds about the source's data, not its virtual size.
        long allocated = long.Parse(Sh($"du -B1 {output} | cut -f1").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.IsLessThan(100L << 20, allocated, $"{allocated} bytes allocated");
    }
}
