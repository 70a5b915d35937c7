using System.Buffers.Binary;

namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>Source disks for tests: sparse raw files with an MBR signature and recognisable data, converted by qemu-img where a format is needed.</summary>
public static class DiskFixtures
{
    /// <summary>A sparse raw disk of <paramref name="size"/> bytes: MBR signature, and 64 KiB of seeded pseudo-random data at each offset given.</summary>
    public static string Raw(string path, long size, params long[] dataOffsets)
    {
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write))
        {
            stream.SetLength(size);
            var mbr = new byte[512];
            mbr[510] = 0x55;
            mbr[511] = 0xAA;
            "LIMGTEST"u8.CopyTo(mbr.AsSpan(3));
            stream.Write(mbr);
            var random = new Random(12345);
            foreach (long offset in dataOffsets)
            {
                int length = (int)Math.Min(64 * 1024, size - offset);
                var data = new byte[length];
                random.NextBytes(data);
                stream.Position = offset;
                stream.Write(data);
            }
        }
        return path;
    }

    /// <summary>Converts a raw disk with the real qemu-img (a judge independent of our code); <paramref name="qemuArgs"/> as on its command line ("-c", "-o", "subformat=fixed").</summary>
    public static string QemuConvert(string raw, string output, string format, params string[] qemuArgs)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        ExternalTool.RunChecked("qemu-img", ["convert", "-f", "raw", "-O", format, .. qemuArgs, raw, output]);
        return output;
    }

    /// <summary>Checks a fixed VHD footer byte by byte, independently of the product's VhdFooter.</summary>
    public static void AssertFixedVhd(string path, long expectedVirtualSize)
    {
        var info = new FileInfo(path);
        Assert.AreEqual(expectedVirtualSize + 512, info.Length, "file length = data + 512-byte footer");
        var footer = new byte[512];
        using (var stream = File.OpenRead(path))
        {
            stream.Position = info.Length - 512;
            stream.ReadExactly(footer);
        }
        CollectionAssert.AreEqual("conectix"u8.ToArray(), footer[..8], "cookie");
        Assert.AreEqual(2u, BinaryPrimitives.ReadUInt32BigEndian(footer.AsSpan(8)), "features");
        Assert.AreEqual(0x00010000u, BinaryPrimitives.ReadUInt32BigEndian(footer.AsSpan(12)), "format version");
        Assert.AreEqual(ulong.MaxValue, BinaryPrimitives.ReadUInt64BigEndian(footer.AsSpan(16)), "data offset of a fixed disk");
        Assert.AreEqual((ulong)expectedVirtualSize, BinaryPrimitives.ReadUInt64BigEndian(footer.AsSpan(40)), "original size");
        Assert.AreEqual((ulong)expectedVirtualSize, BinaryPrimitives.ReadUInt64BigEndian(footer.AsSpan(48)), "current size");
        Assert.AreEqual(2u, BinaryPrimitives.ReadUInt32BigEndian(footer.AsSpan(60)), "disk type fixed");
        uint sum = 0;
        for (int i = 0; i < 512; i++)
        {
            if (i < 64 || i >= 68)
            {
                sum += footer[i];
            }
        }
        Assert.AreEqual(~sum, BinaryPrimitives.ReadUInt32BigEndian(footer.AsSpan(64)), "checksum");
        Assert.AreEqual(0, expectedVirtualSize % (1024 * 1024), "whole MiB");
    }

    /// <summary>What qemu-img info says; <paramref name="format"/> when probing would guess wrong (qemu takes a fixed VHD for raw).</summary>
    public static System.Text.Json.JsonElement QemuInfo(string path, string? format = null)
    {
        string json = format is null
            ? ExternalTool.RunChecked("qemu-img", "info", "--output=json", path).StdOut
            : ExternalTool.RunChecked("qemu-img", "info", "--output=json", "-f", format, path).StdOut;
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    public static long QemuVirtualSize(string path, string? format = null) => QemuInfo(path, format).GetProperty("virtual-size").GetInt64();

    public static string QemuFormat(string path) => QemuInfo(path).GetProperty("format").GetString()!;

    /// <summary>qemu-img compare: identical data (a larger image must hold zeros beyond the smaller one).</summary>
    public static void AssertSameData(string source, string sourceFormat, string vhd)
    {
        var r = ExternalTool.Run("qemu-img", ["compare", "-f", sourceFormat, "-F", "vpc", source, vhd]);
        Assert.AreEqual(0, r.ExitCode, "qemu-img compare: " + r.All);
    }
}
