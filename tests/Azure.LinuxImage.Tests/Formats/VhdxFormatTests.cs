using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Engine.Disks.Vhdx;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Formats;

[TestClass]
public sealed class VhdxFormatTests
{
    [TestMethod]
    [DataRow("dynamic", new string[0])]
    [DataRow("dynamic-1M-blocks", new[] { "-o", "block_size=1M" })]
    [DataRow("dynamic-no-zero-state", new[] { "-o", "block_state_zero=off,block_size=8M" })]
    [DataRow("fixed", new[] { "-o", "subformat=fixed" })]
    public void Reads_what_qemu_reads(string name, string[] options)
    {
        using var dir = new TempDir("vhdx-" + name);
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.vhdx"];
        DiskFixtures.QemuConvert(raw, image, "vhdx", options);
        Assert.AreEqual("vhdx", DiskFixtures.QemuFormat(image));
        FormatFixtures.AssertSameAsQemu(dir, image, DiskFormat.Vhdx);
    }

    [TestMethod]
    public void Reads_a_disk_with_4096_byte_logical_sectors()
    {
        using var dir = new TempDir("vhdx-4k");
        string raw = FormatFixtures.CreateRawSource(dir);
        // qemu-img can neither create nor read 4 KiB-sector VHDX; a small disk's BAT has the same
        // layout for both sector sizes, so patching the metadata item gives a valid 4Kn disk whose
        // data must equal the raw disk it came from.
        ExternalTool.RunChecked("qemu-img", "resize", "-f", "raw", raw, "65M");
        string image = dir["disk.vhdx"];
        DiskFixtures.QemuConvert(raw, image, "vhdx");
        PatchLogicalSectorSize(image, 4096);
        FormatFixtures.AssertSameAsQemu(dir, image, DiskFormat.Vhdx, rawReference: raw);
        using var disk = DiskImageOpener.Open(image);
        Assert.AreEqual(4096, ((VhdxDiskImage)disk).Metadata.LogicalSectorSize);
    }

    [TestMethod]
    public void A_damaged_header_falls_back_to_the_other_and_two_are_an_error()
    {
        using var dir = new TempDir("vhdx-headers");
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.vhdx"];
        DiskFixtures.QemuConvert(raw, image, "vhdx");
        Poke(image, VhdxHeader.FirstOffset + 100, 0xFF);
        FormatFixtures.AssertSameAsQemu(dir, image, DiskFormat.Vhdx);
        Poke(image, VhdxHeader.SecondOffset + 100, 0xFF);
        AssertError(image, "LIMG0204");
    }

    [TestMethod]
    public void A_non_empty_log_is_replayed_in_memory_as_qemu_replays_it_into_the_file()
    {
        using var dir = new TempDir("vhdx-log");
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.vhdx"];
        DiskFixtures.QemuConvert(raw, image, "vhdx", "-o", "block_size=1M");
        long batOffset;
        long block3Payload;
        using (var file = SourceFile.Open(image))
        {
            batOffset = VhdxRegionTable.Read(file).Single(r => r.Id == VhdxRegionTable.BatRegion).Offset;
        }
        var batSector = new byte[4096];
        using (var s = new FileStream(image, FileMode.Open, FileAccess.Read))
        {
            s.Position = batOffset;
            s.ReadExactly(batSector);
        }
        block3Payload = (long)(BinaryPrimitives.ReadUInt64LittleEndian(batSector.AsSpan(3 * 8)) & ~((1UL << 20) - 1));
        Assert.AreEqual(6UL, BinaryPrimitives.ReadUInt64LittleEndian(batSector.AsSpan(8)) & 7, "block 1 should hold data");
        // The logged update, as a crash after logging leaves it: block 1 becomes a zero block (a BAT
        // sector rewritten through a data descriptor) and 8 KiB of block 3's payload are zeroed (a zero descriptor).
        BinaryPrimitives.WriteUInt64LittleEndian(batSector.AsSpan(8), 2);
        long length = new FileInfo(image).Length;
        var entry = BuildLogEntry(Guid.NewGuid(), sequence: 0x1_0000_0005, length, batOffset, batSector, block3Payload + 4096, 8192, out var logGuid);
        WriteLog(image, logGuid, entry);
        string pristine = dir["logged-copy.vhdx"];
        File.Copy(image, pristine);

        using (var disk = DiskImageOpener.Open(image))
        {
            Assert.AreEqual("LIMG0203", disk.Warnings.Single().Descriptor.Code);
            var block1 = new byte[1024 * 1024];
            disk.ReadAt(1024 * 1024, block1);
            Assert.IsFalse(block1.AsSpan().ContainsAnyExcept((byte)0), "the replayed BAT makes block 1 a zero block");
        }
        // The judge: qemu replays the log into the file; our in-memory replay of the untouched copy must read the same.
        ExternalTool.RunChecked("qemu-img", "check", "-r", "all", image);
        string replayed = dir["qemu-replayed.raw"];
        ExternalTool.RunChecked("qemu-img", "convert", "-O", "raw", image, replayed);
        var raw1 = File.ReadAllBytes(raw);
        var qemu = File.ReadAllBytes(replayed);
        Assert.IsFalse(qemu.AsSpan(1024 * 1024, 1024 * 1024).SequenceEqual(raw1.AsSpan(1024 * 1024, 1024 * 1024)), "qemu did not replay the log");
        Assert.IsFalse(qemu.AsSpan((3 * 1024 * 1024) + 4096, 8192).ContainsAnyExcept((byte)0), "qemu did not apply the zero descriptor");
        Assert.IsTrue(raw1.AsSpan((3 * 1024 * 1024) + 4096, 8192).ContainsAnyExcept((byte)0));
        byte[] before = System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(pristine));
        FormatFixtures.AssertSameAsQemu(dir, pristine, DiskFormat.Vhdx, rawReference: replayed);
        CollectionAssert.AreEqual(before, System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(pristine)), "the source must not be written");
    }

    [TestMethod]
    public void A_log_entry_with_a_bad_checksum_is_not_replayed()
    {
        using var dir = new TempDir("vhdx-badlog");
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.vhdx"];
        DiskFixtures.QemuConvert(raw, image, "vhdx", "-o", "block_size=1M");
        var entry = BuildLogEntry(Guid.NewGuid(), 7, new FileInfo(image).Length, 4L << 20, new byte[4096], 5L << 20, 4096, out var logGuid);
        entry[5000] ^= 1;
        WriteLog(image, logGuid, entry);
        using var disk = DiskImageOpener.Open(image);
        Assert.IsEmpty(disk.Warnings);
        FormatFixtures.AssertSameAsQemu(dir, image, DiskFormat.Vhdx, rawReference: raw);
    }

    /// <summary>One log entry (VHDX specification 2.3.1): a header sector with a data and a zero descriptor, then the data sector.</summary>
    private static byte[] BuildLogEntry(Guid guid, ulong sequence, long fileLength, long dataOffset, byte[] data, long zeroOffset, long zeroLength, out Guid logGuid)
    {
        logGuid = guid;
        var entry = new byte[8192];
        BinaryPrimitives.WriteUInt32LittleEndian(entry, VhdxLog.EntrySignature);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(8), (uint)entry.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(12), 0); // tail: this entry, at the start of the log
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(16), sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(24), 2);
        guid.TryWriteBytes(entry.AsSpan(32, 16));
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(48), (ulong)fileLength);
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(56), (ulong)fileLength);
        var desc = entry.AsSpan(64, 32);
        BinaryPrimitives.WriteUInt32LittleEndian(desc, VhdxLog.DataDescriptorSignature);
        data.AsSpan(4092, 4).CopyTo(desc[4..]); // trailing bytes
        data.AsSpan(0, 8).CopyTo(desc[8..]); // leading bytes
        BinaryPrimitives.WriteUInt64LittleEndian(desc[16..], (ulong)dataOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(desc[24..], sequence);
        var zero = entry.AsSpan(96, 32);
        BinaryPrimitives.WriteUInt32LittleEndian(zero, VhdxLog.ZeroDescriptorSignature);
        BinaryPrimitives.WriteUInt64LittleEndian(zero[8..], (ulong)zeroLength);
        BinaryPrimitives.WriteUInt64LittleEndian(zero[16..], (ulong)zeroOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(zero[24..], sequence);
        var sector = entry.AsSpan(4096, 4096);
        BinaryPrimitives.WriteUInt32LittleEndian(sector, VhdxLog.DataSectorSignature);
        BinaryPrimitives.WriteUInt32LittleEndian(sector[4..], (uint)(sequence >> 32));
        data.AsSpan(8, 4084).CopyTo(sector[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(sector[4092..], (uint)sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(4), Crc32C.Compute(entry));
        return entry;
    }

    /// <summary>Writes the entry at the start of the log and sets the log GUID in both headers (fixing their CRC-32C).</summary>
    private static void WriteLog(string image, Guid logGuid, byte[] entry)
    {
        using var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite);
        var header = new byte[4096];
        stream.Position = VhdxHeader.FirstOffset;
        stream.ReadExactly(header);
        long logOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(72));
        stream.Position = logOffset;
        stream.Write(entry);
        foreach (long at in new[] { VhdxHeader.FirstOffset, VhdxHeader.SecondOffset })
        {
            stream.Position = at;
            stream.ReadExactly(header);
            logGuid.TryWriteBytes(header.AsSpan(48, 16));
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), 0);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), Crc32C.Compute(header));
            stream.Position = at;
            stream.Write(header);
        }
    }

    [TestMethod]
    public void Bat_entries_past_the_end_or_into_the_headers_are_errors()
    {
        using var dir = new TempDir("vhdx-bat");
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.vhdx"];
        DiskFixtures.QemuConvert(raw, image, "vhdx", "-o", "block_size=1M");
        long batOffset;
        using (var file = SourceFile.Open(image))
        {
            batOffset = VhdxRegionTable.Read(file).Single(r => r.Id == VhdxRegionTable.BatRegion).Offset;
        }
        var original = File.ReadAllBytes(image);
        // Block 1 holds data (offset 1 MiB of the raw disk).
        WriteUInt64(image, batOffset + 8, (1000UL << 20) | 6);
        StringAssert.Contains(AssertError(image, "LIMG0102").Message, "past the end");
        File.WriteAllBytes(image, original);
        WriteUInt64(image, batOffset + 8, (0UL << 20) | 6);
        StringAssert.Contains(AssertError(image, "LIMG0102").Message, "into the headers");
        File.WriteAllBytes(image, original);
        WriteUInt64(image, batOffset + 8, (1UL << 20) | 5);
        AssertError(image, "LIMG0102");
    }

    [TestMethod]
    public void Truncated_file_is_an_error()
    {
        using var dir = new TempDir("vhdx-trunc");
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.vhdx"];
        DiskFixtures.QemuConvert(raw, image, "vhdx");
        foreach (long length in new[] { 100_000L, 300_000L, new FileInfo(image).Length - 4096 })
        {
            using (var s = new FileStream(image, FileMode.Open)) { s.SetLength(length); }
            var e = Assert.ThrowsExactly<LinuxImageException>(() => ReadAll(image));
            Assert.IsTrue(e.Descriptor.Code is "LIMG0101" or "LIMG0102" or "LIMG0204", e.Message);
            Assert.AreEqual(Path.GetFullPath(image), e.File);
        }
    }

    [TestMethod]
    public void Huge_virtual_size_is_an_error()
    {
        using var dir = new TempDir("vhdx-huge");
        string raw = FormatFixtures.CreateRawSource(dir);
        string image = dir["disk.vhdx"];
        DiskFixtures.QemuConvert(raw, image, "vhdx");
        using (var file = SourceFile.Open(image))
        {
            long metadataOffset = VhdxRegionTable.Read(file).Single(r => r.Id == VhdxRegionTable.MetadataRegion).Offset;
            long sizeItem = FindMetadataItem(image, metadataOffset, new Guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8"));
            file.Dispose();
            WriteUInt64(image, sizeItem, ulong.MaxValue - 511);
        }
        AssertError(image, "LIMG0102");
    }

    internal static LinuxImageException AssertError(string image, string code)
    {
        var e = Assert.ThrowsExactly<LinuxImageException>(() => ReadAll(image));
        Assert.AreEqual(code, e.Descriptor.Code, e.Message);
        Assert.AreEqual(Path.GetFullPath(image), e.File);
        return e;
    }

    internal static void ReadAll(string image)
    {
        using var disk = DiskImageOpener.Open(image);
        var buffer = new byte[1024 * 1024];
        for (long at = 0; at < disk.Length; at += buffer.Length)
        {
            disk.ReadAt(at, buffer.AsSpan(0, (int)Math.Min(buffer.Length, disk.Length - at)));
        }
        _ = disk.GetAllocatedExtents().Count();
    }

    internal static void Poke(string path, long offset, byte value)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        s.Position = offset;
        s.WriteByte(value);
    }

    internal static void WriteUInt64(string path, long offset, ulong value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        using var s = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        s.Position = offset;
        s.Write(b);
    }

    private static long FindMetadataItem(string image, long metadataOffset, Guid id)
    {
        var table = new byte[64 * 1024];
        using var s = new FileStream(image, FileMode.Open, FileAccess.Read);
        s.Position = metadataOffset;
        s.ReadExactly(table);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(10));
        for (int i = 0; i < count; i++)
        {
            if (new Guid(table.AsSpan(32 + (i * 32), 16)) == id)
            {
                return metadataOffset + BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(32 + (i * 32) + 16));
            }
        }
        Assert.Fail($"metadata item {id} not found");
        return 0;
    }

    private static void PatchLogicalSectorSize(string image, uint size)
    {
        long metadataOffset;
        using (var file = SourceFile.Open(image))
        {
            metadataOffset = VhdxRegionTable.Read(file).Single(r => r.Id == VhdxRegionTable.MetadataRegion).Offset;
        }
        long item = FindMetadataItem(image, metadataOffset, new Guid("8141BF1D-A96F-4709-BA47-F233A8FAAB5F"));
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, size);
        using var s = new FileStream(image, FileMode.Open, FileAccess.ReadWrite);
        s.Position = item;
        s.Write(b);
    }
}
