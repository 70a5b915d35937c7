using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks.Raw;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Engine.Partitions;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Partitions;

[TestClass]
public sealed class PartitionTableTests
{
    [TestMethod]
    public void Mbr_with_primary_extended_and_logical_partitions_is_read_as_sfdisk_wrote_it()
    {
        using var temp = new TempDir("mbr");
        string disk = temp["disk.img"];
        var layout = TestDisks.Partition(disk, 40, "label: dos\nlabel-id: 0x12345678\nstart=2048, size=8MiB, type=83\nsize=4MiB, type=ef\ntype=5\nsize=2MiB, type=82\nsize=4MiB, type=8e\ntype=83\n");
        using var image = new RawDiskImage(SourceFile.Open(disk));
        var table = PartitionTableReader.Read(image, disk);
        Assert.AreEqual(PartitionScheme.Mbr, table.Scheme);
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 5, 6, 7 }, table.Partitions.Select(p => p.Number).ToArray());
        foreach (var p in table.Partitions)
        {
            Assert.AreEqual(layout[p.Number].Offset, p.Offset, $"partition {p.Number}");
            Assert.AreEqual(layout[p.Number].Size, p.Length, $"partition {p.Number}");
        }
        var kinds = table.Partitions.Select(p => p.Kind).ToArray();
        CollectionAssert.AreEqual(new[] { PartitionKind.LinuxFileSystem, PartitionKind.EfiSystem, PartitionKind.Extended, PartitionKind.LinuxSwap, PartitionKind.LinuxLvm, PartitionKind.LinuxFileSystem }, kinds);
        Assert.AreEqual("12345678-05", table.Partitions.Single(p => p.Number == 5).PartUuid);
        Assert.AreEqual("Linux swap", table.Partitions.Single(p => p.Number == 5).TypeName);
    }

    [TestMethod]
    public void Gpt_is_read_and_a_damaged_primary_falls_back_to_the_backup()
    {
        using var temp = new TempDir("gpt");
        string disk = temp["disk.img"];
        var layout = TestDisks.Partition(disk, 40,
            "label: gpt\nlabel-id: 0AAA0000-1111-2222-3333-444444444444\nstart=2048, size=1MiB, type=21686148-6449-6E6F-744E-656564454649\nsize=8MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nsize=4MiB, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name=swap\ntype=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root, uuid=DEADBEEF-0000-1111-2222-333333333333\n");
        PartitionTable table;
        using (var image = new RawDiskImage(SourceFile.Open(disk)))
        {
            table = PartitionTableReader.Read(image, disk);
        }
        Assert.AreEqual(PartitionScheme.Gpt, table.Scheme);
        Assert.AreEqual(4, table.Partitions.Count);
        CollectionAssert.AreEqual(new[] { PartitionKind.BiosBoot, PartitionKind.EfiSystem, PartitionKind.LinuxSwap, PartitionKind.LinuxFileSystem }, table.Partitions.Select(p => p.Kind).ToArray());
        Assert.AreEqual("root", table.Partitions[3].Name);
        Assert.AreEqual("deadbeef-0000-1111-2222-333333333333", table.Partitions[3].PartUuid);
        Assert.AreEqual(layout[4].Offset, table.Partitions[3].Offset);
        Assert.AreEqual(layout[4].Size, table.Partitions[3].Length);
        Assert.AreEqual(0, table.Warnings.Count);

        // Damage one byte of the primary header: the backup must be used, with a warning.
        Flip(disk, 512 + 40);
        using (var image = new RawDiskImage(SourceFile.Open(disk)))
        {
            var fallback = PartitionTableReader.Read(image, disk);
            Assert.AreEqual(4, fallback.Partitions.Count);
            Assert.AreEqual(1, fallback.Warnings.Count);
            StringAssert.Contains(fallback.Warnings[0], "backup");
        }

        // Damage the backup's entry array too: a clear error.
        long backupEntries = new FileInfo(disk).Length - (33 * 512);
        Flip(disk, backupEntries + 3);
        using (var image = new RawDiskImage(SourceFile.Open(disk)))
        {
            var e = Assert.ThrowsExactly<LinuxImageException>(() => PartitionTableReader.Read(image, disk));
            Assert.AreEqual("LIMG0301", e.Descriptor.Code);
        }
    }

    [TestMethod]
    public void Gpt_entry_crc_mismatch_in_both_copies_is_reported()
    {
        using var temp = new TempDir("gptcrc");
        string disk = temp["disk.img"];
        TestDisks.Partition(disk, 8, "label: gpt\nstart=2048, type=L\n");
        Flip(disk, 1024 + 20);                              // primary entry array
        Flip(disk, new FileInfo(disk).Length - (33 * 512) + 20); // backup entry array
        using var image = new RawDiskImage(SourceFile.Open(disk));
        var e = Assert.ThrowsExactly<LinuxImageException>(() => PartitionTableReader.Read(image, disk));
        Assert.AreEqual("LIMG0301", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "entry array CRC mismatch");
    }

    [TestMethod]
    public void Looping_extended_partition_chain_is_damage_not_a_hang()
    {
        using var temp = new TempDir("ebrloop");
        string disk = temp["disk.img"];
        var layout = TestDisks.Partition(disk, 16, "label: dos\ntype=5\nsize=2MiB, type=83\ntype=83\n");
        // Point the second logical's EBR "next" link back at the first EBR.
        long extStart = layout[1].Offset;
        long secondEbr = layout[6].Offset - (2048 * 512);
        using (var f = new FileStream(disk, FileMode.Open))
        {
            byte[] entry = new byte[16];
            f.Position = extStart + 446 + 16;
            f.ReadExactly(entry);
            Assert.AreNotEqual(0, entry[4], "fixture: first EBR has no link");
            // First EBR links to the second; make the second link to itself-relative 0 → loop back via the first link's value.
            f.Position = secondEbr + 446 + 16;
            entry[8] = entry[9] = entry[10] = entry[11] = 0;
            long rel = (secondEbr - extStart) / 512;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(8), (uint)rel);
            f.Write(entry);
        }
        using var image = new RawDiskImage(SourceFile.Open(disk));
        var e = Assert.ThrowsExactly<LinuxImageException>(() => PartitionTableReader.Read(image, disk));
        Assert.AreEqual("LIMG0300", e.Descriptor.Code);
    }

    [TestMethod]
    public void Bounded_mutations_of_partition_tables_give_tables_or_LIMG_errors_only()
    {
        using var temp = new TempDir("mbrfuzz");
        string mbrDisk = temp["mbr.img"];
        string gptDisk = temp["gpt.img"];
        TestDisks.Partition(mbrDisk, 4, "label: dos\nsize=1MiB, type=83\ntype=5\nsize=1MiB, type=82\ntype=83\n");
        TestDisks.Partition(gptDisk, 4, "label: gpt\nsize=1MiB, type=L\ntype=S\n");
        var random = new Random(1234);
        foreach (string path in new[] { mbrDisk, gptDisk })
        {
            byte[] original = File.ReadAllBytes(path);
            long[] hot = [0x1BE, 0x1CE, 0x1DE, 512, 512 + 72, 512 + 80, 1024, 1024 + 32, 1024 + 40];
            for (int i = 0; i < 300; i++)
            {
                byte[] bytes = (byte[])original.Clone();
                int flips = random.Next(1, 6);
                for (int k = 0; k < flips; k++)
                {
                    long at = random.Next(3) == 0 ? random.NextInt64(0, 4096) : hot[random.Next(hot.Length)] + random.Next(16);
                    bytes[at] = (byte)random.Next(256);
                }
                var volume = new MemoryVolume(bytes);
                try
                {
                    var t = PartitionTableReader.Read(volume, path);
                    foreach (var p in t.Partitions)
                    {
                        Assert.IsTrue(p.Offset >= 0 && p.Offset + p.Length <= bytes.Length, "a partition outside the disk was returned");
                    }
                }
                catch (LinuxImageException)
                {
                }
            }
        }
    }

    private static void Flip(string path, long offset)
    {
        using var f = new FileStream(path, FileMode.Open);
        f.Position = offset;
        int b = f.ReadByte();
        f.Position = offset;
        f.WriteByte((byte)(b ^ 0xFF));
    }
}

/// <summary>A volume over a byte array, for mutation tests.</summary>
internal sealed class MemoryVolume(byte[] bytes) : IWritableVolume
{
    public long Length => bytes.Length;

    public void ReadAt(long offset, Span<byte> buffer)
    {
        this.CheckRange(offset, buffer.Length);
        bytes.AsSpan((int)offset, buffer.Length).CopyTo(buffer);
    }

    public void WriteAt(long offset, ReadOnlySpan<byte> data)
    {
        this.CheckRange(offset, data.Length);
        data.CopyTo(bytes.AsSpan((int)offset));
    }
}
