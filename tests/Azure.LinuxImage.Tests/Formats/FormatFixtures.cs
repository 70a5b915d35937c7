using System.Text.Json;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Formats;

/// <summary>
/// Builds source disks with qemu-img (the judge) from a raw disk that has an MBR, recognisable data
/// at odd offsets and large holes, and compares what our readers see with what qemu sees.
/// </summary>
internal static class FormatFixtures
{
    /// <summary>Not a multiple of any cluster or block size, so partial last clusters are exercised.</summary>
    public const long RawSize = (64L * 1024 * 1024) + (3 * 4096);

    /// <summary>Guest ranges holding data; everything else in the raw disk is a hole.</summary>
    public static readonly (long Offset, int Length, bool Random)[] DataRanges =
    [
        (1L * 1024 * 1024, 3 * 1024 * 1024, true),
        ((20L * 1024 * 1024) + 12345, 300_000, false),
        ((33L * 1024 * 1024) - 4096, 8192, true), // straddles a 32 MiB block boundary
        (40L * 1024 * 1024, 512, false),
        (RawSize - 4096, 4096, true), // the very end of the disk
    ];

    public static string CreateRawSource(TempDir dir, string name = "source.raw", int seed = 1)
    {
        string path = dir[name];
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write))
        {
            stream.SetLength(RawSize);
        }
        var sfdisk = ExternalTool.Run("sfdisk", ["--quiet", path], stdin: "label: dos\nstart=2048, type=83\n");
        Assert.AreEqual(0, sfdisk.ExitCode, sfdisk.All);
        var random = new Random(seed);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            foreach (var (offset, length, isRandom) in DataRanges)
            {
                var data = new byte[length];
                if (isRandom)
                {
                    random.NextBytes(data);
                }
                else
                {
                    // Compressible, and every 8-byte group names its own offset so misplaced data is obvious.
                    for (int i = 0; i + 8 <= length; i += 8)
                    {
                        BitConverter.TryWriteBytes(data.AsSpan(i), (offset + i) ^ ((long)seed << 56));
                    }
                }
                stream.Position = offset;
                stream.Write(data);
            }
        }
        var head = File.ReadAllBytes(path).AsSpan(510, 2).ToArray();
        Assert.AreEqual(0x55, head[0], "sfdisk wrote no MBR");
        return path;
    }

    /// <summary>
    /// Reads the whole disk through our reader (in reads of varying, unaligned sizes) and compares it
    /// with qemu-img's raw conversion of the same file; also checks that no data lies outside the
    /// reported allocated extents.
    /// </summary>
    public static void AssertSameAsQemu(TempDir dir, string image, DiskFormat expectedFormat, string? rawReference = null)
    {
        // rawReference: for files qemu cannot open (e.g. 4 KiB-sector VHDX), the raw disk they were made from.
        string reference = rawReference ?? dir["qemu-view-" + Path.GetFileName(image) + ".raw"];
        if (rawReference is null)
        {
            ExternalTool.RunChecked("qemu-img", "convert", "-O", "raw", image, reference);
        }
        var expected = File.ReadAllBytes(reference);
        using var disk = DiskImageOpener.Open(image);
        Assert.AreEqual(expectedFormat, disk.Format);
        if (rawReference is null)
        {
            Assert.AreEqual(DiskFixtures.QemuVirtualSize(image), disk.Length, "virtual size differs from qemu-img info");
        }
        Assert.AreEqual(expected.LongLength, disk.Length);

        var actual = new byte[disk.Length];
        var random = new Random(7);
        long at = 0;
        while (at < actual.LongLength)
        {
            int n = (int)Math.Min(actual.LongLength - at, random.Next(1, 3 * 1024 * 1024));
            disk.ReadAt(at, actual.AsSpan((int)at, n));
            at += n;
        }
        AssertBytesEqual(expected, actual, "whole-disk read");

        long last = 0;
        var covered = new bool[(actual.Length + 511) / 512];
        foreach (var extent in disk.GetAllocatedExtents())
        {
            Assert.IsTrue(extent.Offset >= last && extent.Length > 0 && extent.End <= disk.Length, $"extent {extent} is not ascending, non-empty and inside the disk");
            last = extent.End;
            for (long s = extent.Offset / 512; s < (extent.End + 511) / 512; s++)
            {
                covered[s] = true;
            }
            // A read of exactly one extent must match as well.
            var part = new byte[Math.Min(extent.Length, 4 * 1024 * 1024)];
            disk.ReadAt(extent.Offset, part);
            AssertBytesEqual(expected.AsSpan((int)extent.Offset, part.Length).ToArray(), part, $"extent at {extent.Offset}");
        }
        for (int s = 0; s < covered.Length; s++)
        {
            if (!covered[s])
            {
                var sector = expected.AsSpan(s * 512, Math.Min(512, expected.Length - (s * 512)));
                Assert.IsFalse(sector.ContainsAnyExcept((byte)0), $"sector {s} holds data but lies outside every allocated extent");
            }
        }
        if (rawReference is null)
        {
            File.Delete(reference);
        }
    }

    public static void AssertBytesEqual(byte[] expected, byte[] actual, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, $"{what}: lengths differ");
        int i = expected.AsSpan().CommonPrefixLength(actual);
        if (i != expected.Length)
        {
            Assert.Fail($"{what}: first difference at byte {i} (expected 0x{expected[i]:X2}, got 0x{actual[i]:X2})");
        }
    }
}
