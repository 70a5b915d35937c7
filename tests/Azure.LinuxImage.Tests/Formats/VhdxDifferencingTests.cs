using System.Buffers.Binary;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Engine.Disks.Vhdx;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Formats;

/// <summary>
/// qemu-img can neither create nor read differencing VHDX, so the child is a qemu-made dynamic VHDX
/// turned into a child by hand, following the VHDX specification: the has-parent flag, a parent
/// locator, a sector bitmap block and one partially present block. The expected data is built from
/// the raw disks by the specification's rules, not by our reader.
/// </summary>
[TestClass]
public sealed class VhdxDifferencingTests
{
    private const int MiB = 1024 * 1024;
    private const long DiskSize = 65L * MiB;
    private static readonly Guid ParentLocatorItem = new("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");
    private static readonly Guid LocatorType = new("B04AEFB7-D19E-4A81-B789-25B8E9445913");
    private static readonly Guid FileParametersItem = new("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");

    [TestMethod]
    public void Partially_present_blocks_take_each_sector_from_child_or_parent()
    {
        using var dir = new TempDir("vhdx-diff");
        string parentRaw = FormatFixtures.CreateRawSource(dir, "parent.raw", seed: 1);
        ExternalTool.RunChecked("qemu-img", "resize", "-f", "raw", parentRaw, DiskSize.ToString());
        string childRaw = dir["child.raw"];
        using (var s = new FileStream(childRaw, FileMode.Create)) { s.SetLength(DiskSize); }
        ExternalTool.RunChecked("qemu-io", "-f", "raw", "-c", $"write -P 0xC3 {3 * MiB} {MiB}", "-c", $"write -P 0xCA {10 * MiB} {MiB}", childRaw);

        string parent = dir["parent.vhdx"];
        string child = dir["sub/child.vhdx"];
        Directory.CreateDirectory(dir["sub"]);
        DiskFixtures.QemuConvert(parentRaw, parent, "vhdx", "-o", "block_size=1M");
        DiskFixtures.QemuConvert(childRaw, child, "vhdx", "-o", "block_size=1M,block_state_zero=off");

        // Block 3: sectors 0–7 and 100–199 are the child's, the rest the parent's. Block 10 stays fully present.
        var presentSectors = Enumerable.Range(0, 8).Concat(Enumerable.Range(100, 100)).ToHashSet();
        Guid parentDataWriteGuid;
        using (var file = SourceFile.Open(parent))
        {
            parentDataWriteGuid = VhdxHeader.ReadCurrent(file).DataWriteGuid;
        }
        MakeChild(child, parentDataWriteGuid, "..\\parent.vhdx", block: 3, presentSectors);

        var expected = File.ReadAllBytes(parentRaw);
        var childData = File.ReadAllBytes(childRaw);
        Array.Copy(childData, 10L * MiB, expected, 10L * MiB, MiB);
        foreach (int sector in presentSectors)
        {
            Array.Copy(childData, (3L * MiB) + (sector * 512L), expected, (3L * MiB) + (sector * 512L), 512);
        }
        string expectedPath = dir["expected.raw"];
        File.WriteAllBytes(expectedPath, expected);
        FormatFixtures.AssertSameAsQemu(dir, child, DiskFormat.Vhdx, rawReference: expectedPath);
        using (var disk = DiskImageOpener.Open(child))
        {
            CollectionAssert.AreEqual(new[] { Path.GetFullPath(child), Path.GetFullPath(parent) }, disk.Files.ToArray());
            Assert.IsEmpty(disk.Warnings);
        }

        File.Move(parent, dir["moved.vhdx"]);
        var e = Assert.ThrowsExactly<LinuxImageException>(() => DiskImageOpener.Open(child).Dispose());
        Assert.AreEqual("LIMG0104", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "parent.vhdx");
    }

    [TestMethod]
    public void Parents_that_loop_are_an_error()
    {
        using var dir = new TempDir("vhdx-loop");
        string raw = dir["empty.raw"];
        using (var s = new FileStream(raw, FileMode.Create)) { s.SetLength(DiskSize); }
        ExternalTool.RunChecked("qemu-io", "-f", "raw", "-c", $"write -P 0x11 {3 * MiB} {MiB}", raw);
        DiskFixtures.QemuConvert(raw, dir["a.vhdx"], "vhdx", "-o", "block_size=1M,block_state_zero=off");
        DiskFixtures.QemuConvert(raw, dir["b.vhdx"], "vhdx", "-o", "block_size=1M,block_state_zero=off");
        MakeChild(dir["a.vhdx"], Guid.NewGuid(), "b.vhdx", block: 3, [0]);
        MakeChild(dir["b.vhdx"], Guid.NewGuid(), "a.vhdx", block: 3, [0]);
        var e = Assert.ThrowsExactly<LinuxImageException>(() => DiskImageOpener.Open(dir["a.vhdx"]).Dispose());
        Assert.AreEqual("LIMG0105", e.Descriptor.Code, e.Message);
    }

    private static void MakeChild(string path, Guid parentLinkage, string relativePath, int block, HashSet<int> presentSectors)
    {
        IReadOnlyList<VhdxRegion> regions;
        using (var file = SourceFile.Open(path))
        {
            regions = VhdxRegionTable.Read(file);
        }
        var bat = regions.Single(r => r.Id == VhdxRegionTable.BatRegion);
        var meta = regions.Single(r => r.Id == VhdxRegionTable.MetadataRegion);
        using var s = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);

        // Metadata: set "has parent" and add a parent locator item in free space of the region.
        var table = new byte[64 * 1024];
        s.Position = meta.Offset;
        s.ReadExactly(table);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(10));
        for (int i = 0; i < count; i++)
        {
            var entry = table.AsSpan(32 + (i * 32), 32);
            if (new Guid(entry[..16]) == FileParametersItem)
            {
                long at = meta.Offset + BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]) + 4;
                var flags = new byte[4];
                s.Position = at;
                s.ReadExactly(flags);
                BinaryPrimitives.WriteUInt32LittleEndian(flags, BinaryPrimitives.ReadUInt32LittleEndian(flags) | 2);
                s.Position = at;
                s.Write(flags);
            }
        }
        var locator = BuildLocator(("parent_linkage", parentLinkage.ToString("B")), ("relative_path", relativePath));
        const int locatorOffset = 512 * 1024;
        var newEntry = table.AsSpan(32 + (count * 32), 32);
        ParentLocatorItem.TryWriteBytes(newEntry[..16]);
        BinaryPrimitives.WriteUInt32LittleEndian(newEntry[16..], locatorOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(newEntry[20..], (uint)locator.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(newEntry[24..], 4 | 2); // required, virtual disk
        BinaryPrimitives.WriteUInt16LittleEndian(table.AsSpan(10), (ushort)(count + 1));
        s.Position = meta.Offset;
        s.Write(table);
        s.Position = meta.Offset + locatorOffset;
        s.Write(locator);

        // BAT: a differencing disk's table has a sector bitmap entry after each chunk of 4096 blocks
        // (2^23 * 512 / 1 MiB); put the chunk's bitmap in a new 1 MiB block at the end of the file.
        const long chunkRatio = (1L << 23) * 512 / MiB;
        long bitmapOffset = (s.Length + MiB - 1) / MiB * MiB;
        var bitmap = new byte[MiB];
        long firstBit = block * (MiB / 512);
        foreach (int sector in presentSectors)
        {
            long bit = firstBit + sector;
            bitmap[bit / 8] |= (byte)(1 << (int)(bit % 8));
        }
        s.Position = bitmapOffset;
        s.Write(bitmap);
        WriteBat(s, bat.Offset, chunkRatio, (ulong)bitmapOffset | 6);
        var entryBytes = new byte[8];
        s.Position = bat.Offset + (block * 8);
        s.ReadExactly(entryBytes);
        ulong payload = BinaryPrimitives.ReadUInt64LittleEndian(entryBytes);
        Assert.AreEqual(6UL, payload & 7, "qemu should have allocated the block");
        WriteBat(s, bat.Offset, block, (payload & ~7UL) | 7);
    }

    private static void WriteBat(FileStream s, long batOffset, long index, ulong value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        s.Position = batOffset + (index * 8);
        s.Write(b);
    }

    private static byte[] BuildLocator(params (string Key, string Value)[] pairs)
    {
        var header = new byte[20 + (pairs.Length * 12)];
        LocatorType.TryWriteBytes(header.AsSpan(0, 16));
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(18), (ushort)pairs.Length);
        var strings = new MemoryStream();
        for (int i = 0; i < pairs.Length; i++)
        {
            var key = Encoding.Unicode.GetBytes(pairs[i].Key);
            var value = Encoding.Unicode.GetBytes(pairs[i].Value);
            var e = header.AsSpan(20 + (i * 12));
            BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)(header.Length + strings.Length));
            strings.Write(key);
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], (uint)(header.Length + strings.Length));
            strings.Write(value);
            BinaryPrimitives.WriteUInt16LittleEndian(e[8..], (ushort)key.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(e[10..], (ushort)value.Length);
        }
        return [.. header, .. strings.ToArray()];
    }
}
