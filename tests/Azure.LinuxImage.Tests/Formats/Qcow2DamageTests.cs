using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Formats;

/// <summary>Damaged qcow2 files: each fault must be a LinuxImageException with its code and the file's name.</summary>
[TestClass]
public sealed class Qcow2DamageTests
{
    private static (TempDir Dir, string Image, byte[] Bytes) Make(params string[] options)
    {
        var dir = new TempDir("qcow2-bad");
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.qcow2"];
        DiskFixtures.QemuConvert(raw, image, "qcow2", options);
        return (dir, image, File.ReadAllBytes(image));
    }

    private static long L1Offset(byte[] b) => (long)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(40));

    /// <summary>The L1 entry that maps guest offset 0 (its L2 table holds the MBR and the first data).</summary>
    private static long FirstL2(byte[] b) => (long)(BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan((int)L1Offset(b))) & 0x00FF_FFFF_FFFF_FE00);

    [TestMethod]
    public void L2_table_offset_not_cluster_aligned()
    {
        var (dir, image, b) = Make();
        using (dir)
        {
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan((int)L1Offset(b)), (ulong)(FirstL2(b) + 512) | (1UL << 63));
            File.WriteAllBytes(image, b);
            StringAssert.Contains(VhdxFormatTests.AssertError(image, "LIMG0102").Message, "not cluster-aligned");
        }
    }

    [TestMethod]
    public void L2_table_past_the_end_and_into_the_header()
    {
        var (dir, image, b) = Make();
        using (dir)
        {
            var original = (byte[])b.Clone();
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan((int)L1Offset(b)), 1UL << 40);
            File.WriteAllBytes(image, b);
            StringAssert.Contains(VhdxFormatTests.AssertError(image, "LIMG0102").Message, "past the end");
            b = (byte[])original.Clone();
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan((int)L1Offset(b)), 0x10000UL * 0);
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan((int)L1Offset(b)), (ulong)L1Offset(b)); // the L1 table itself
            File.WriteAllBytes(image, b);
            VhdxFormatTests.AssertError(image, "LIMG0102");
        }
    }

    [TestMethod]
    public void Data_cluster_into_the_header_or_past_the_end()
    {
        var (dir, image, b) = Make();
        using (dir)
        {
            var original = (byte[])b.Clone();
            int entry = (int)FirstL2(b) + (16 * 8); // guest cluster 16 = 1 MiB, which holds data
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(entry), 0); // not a hole any more: point at the header
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(entry), 1UL << 63 | 0); // copied flag, offset 0: reads as unallocated
            File.WriteAllBytes(image, b);
            VhdxFormatTests.ReadAll(image); // a hole is legal
            b = (byte[])original.Clone();
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(entry), (1UL << 63) | (ulong)L1Offset(b));
            File.WriteAllBytes(image, b);
            VhdxFormatTests.AssertError(image, "LIMG0102");
            b = (byte[])original.Clone();
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(entry), (1UL << 63) | (1UL << 45));
            File.WriteAllBytes(image, b);
            VhdxFormatTests.AssertError(image, "LIMG0101");
        }
    }

    [TestMethod]
    [DataRow("zlib")]
    [DataRow("zstd")]
    public void Compressed_cluster_that_does_not_inflate(string codec)
    {
        var (dir, image, b) = Make("-c", "-o", "compression_type=" + codec);
        using (dir)
        {
            // Guest cluster 321 lies inside the compressible pattern at 20 MiB.
            int entryAt = (int)FirstL2(b) + (321 * 8);
            ulong entry = BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(entryAt));
            Assert.AreNotEqual(0UL, entry & (1UL << 62), "guest cluster 321 should be compressed");
            int offsetBits = 62 - (16 - 8);
            long host = (long)(entry & ((1UL << offsetBits) - 1));
            for (long i = host; i < host + 64; i++)
            {
                b[i] ^= 0xA5;
            }
            File.WriteAllBytes(image, b);
            var e = VhdxFormatTests.AssertError(image, "LIMG0202");
            StringAssert.Contains(e.Message, host.ToString());
        }
    }

    [TestMethod]
    public void Sizes_near_2_to_the_64_and_truncation()
    {
        var (dir, image, b) = Make();
        using (dir)
        {
            var original = (byte[])b.Clone();
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(24), ulong.MaxValue - 511);
            File.WriteAllBytes(image, b);
            VhdxFormatTests.AssertError(image, "LIMG0102");
            b = (byte[])original.Clone();
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(36), uint.MaxValue); // L1 entries
            File.WriteAllBytes(image, b);
            VhdxFormatTests.AssertError(image, "LIMG0102");
            foreach (int length in new[] { 50, 100, 70_000, original.Length / 2 })
            {
                File.WriteAllBytes(image, original.AsSpan(0, length).ToArray());
                var e = Assert.ThrowsExactly<LinuxImageException>(() => VhdxFormatTests.ReadAll(image));
                Assert.IsTrue(e.Descriptor.Code is "LIMG0101" or "LIMG0102", e.Message);
                Assert.AreEqual(Path.GetFullPath(image), e.File);
            }
        }
    }

    [TestMethod]
    public void Backing_name_longer_than_a_short_file_found_by_afl()
    {
        // AFL's first find: a 120-byte file whose backing name (240 bytes at offset 257) is longer
        // than the file; an unsigned subtraction let it past the bounds check.
        using var dir = new TempDir("qcow2-afl");
        var b = new byte[120];
        BinaryPrimitives.WriteUInt32BigEndian(b, 0x514649FB);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), 3);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(8), 257);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(16), 240);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(20), 12);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(24), 4L << 20);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(100), 112);
        File.WriteAllBytes(dir["short.qcow2"], b);
        VhdxFormatTests.AssertError(dir["short.qcow2"], "LIMG0102");
    }

    [TestMethod]
    public void Crc32C_matches_the_published_check_value_on_every_path()
    {
        // RFC 3720 B.4 check value for "123456789", and the iSCSI 32-byte zero vector.
        Assert.AreEqual(0xE3069283u, Azure.LinuxImage.Engine.IO.Crc32C.Compute("123456789"u8));
        Assert.AreEqual(0x8A9136AAu, Azure.LinuxImage.Engine.IO.Crc32C.Compute(new byte[32]));
        var data = new byte[1000];
        new Random(3).NextBytes(data);
        Assert.AreEqual(~Azure.LinuxImage.Engine.IO.Crc32C.UpdateTable(0xFFFFFFFF, data), Azure.LinuxImage.Engine.IO.Crc32C.Compute(data));
        Assert.AreEqual(Azure.LinuxImage.Engine.IO.Crc32C.Compute(data), Azure.LinuxImage.Engine.IO.Crc32C.Compute(data.AsSpan(300), Azure.LinuxImage.Engine.IO.Crc32C.Compute(data.AsSpan(0, 300))));
    }
}
