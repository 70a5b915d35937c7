using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.FileSystems.Btrfs;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// Damaged and unsupported btrfs images, edited where btrfs-progs says the structures lie (with
/// valid checksums where the damage must get past them): a clear LIMG error, no other exception,
/// no hang.
/// </summary>
[TestClass]
public sealed partial class BtrfsDamageTests
{
    private const int SuperblockOffset = 0x10000;

    [GeneratedRegex(@"^(?:node|leaf) (\d+) (?:level (\d+) )?items (\d+)", RegexOptions.Multiline)]
    private static partial Regex BlockLine();

    [GeneratedRegex(@"mirror \d+ logical \d+ physical (\d+)")]
    private static partial Regex MirrorLine();

    private static LinuxImageException OpenAndReadAllExpectingError(string image, string options = "")
    {
        using var volume = FileVolume.OpenRead(image);
        return Assert.ThrowsExactly<LinuxImageException>(() => BtrfsTestImage.EngineView(BtrfsFileSystem.Open(volume, image, options)));
    }

    /// <summary>The root block of a tree as dump-tree prints it: logical address and level.</summary>
    private static (long Logical, int Level) TreeRoot(string image, string tree)
    {
        string dump = ExternalTool.RunChecked("btrfs", "inspect-internal", "dump-tree", "-t", tree, image).StdOut;
        var m = BlockLine().Match(dump);
        Assert.IsTrue(m.Success, dump[..Math.Min(dump.Length, 500)]);
        int level = m.Groups[2].Success ? int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : 0;
        return (long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), level);
    }

    private static List<long> Physical(string image, long logical)
    {
        string output = ExternalTool.RunChecked("btrfs-map-logical", "-l", logical.ToString(CultureInfo.InvariantCulture), image).StdOut;
        var result = MirrorLine().Matches(output).Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.IsNotEmpty(result, output);
        return result;
    }

    /// <summary>Edits <paramref name="length"/> bytes at <paramref name="offset"/> and stores a valid crc32c over them again (so only the edit is wrong).</summary>
    private static void Edit(string image, long offset, int length, Action<byte[]> edit, bool fixChecksum = true)
    {
        using var f = new FileStream(image, FileMode.Open, FileAccess.ReadWrite);
        var block = new byte[length];
        f.Position = offset;
        f.ReadExactly(block);
        edit(block);
        if (fixChecksum)
        {
            block.AsSpan(0, 32).Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(block, Crc32C.Compute(block.AsSpan(32)));
        }
        f.Position = offset;
        f.Write(block);
    }

    private static string DeepTree(TempDir temp) => BtrfsTestImage.Create(temp, 256, ["--nodesize", "4096", "-m", "single"]);

    [TestMethod]
    public void Superblock_checksum_failure_is_LIMG0380()
    {
        using var temp = new TempDir("btrfs-dmg-sb");
        string image = BtrfsTestImage.Create(temp, 256, []);
        Edit(image, SuperblockOffset, 4096, b => b[0x300] ^= 0x40, fixChecksum: false);
        var e = OpenAndReadAllExpectingError(image);
        Assert.AreEqual("LIMG0380", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "superblock");
        StringAssert.Contains(e.Message, "checksum");
    }

    [TestMethod]
    public void Tree_block_checksum_failure_is_LIMG0380()
    {
        using var temp = new TempDir("btrfs-dmg-leaf");
        string image = DeepTree(temp);
        var (logical, _) = TreeRoot(image, "5");
        Edit(image, Physical(image, logical)[0], 4096, b => b[200] ^= 1, fixChecksum: false);
        var e = OpenAndReadAllExpectingError(image);
        Assert.AreEqual("LIMG0380", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "checksum");
    }

    [TestMethod]
    public void Tree_block_pointing_to_itself_is_LIMG0380_not_a_hang()
    {
        using var temp = new TempDir("btrfs-dmg-loop");
        string image = DeepTree(temp);
        var (logical, level) = TreeRoot(image, "5");
        Assert.IsGreaterThanOrEqualTo(1, level, "the fixture's file tree needs an internal node");
        Edit(image, Physical(image, logical)[0], 4096, b =>
        {
            // Key pointer 0: blockptr at 101 + 17, generation at 101 + 25; point it at this very block.
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(101 + 17), logical);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(101 + 25), BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(0x50)));
        });
        var e = OpenAndReadAllExpectingError(image);
        Assert.AreEqual("LIMG0380", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "level");
    }

    [TestMethod]
    public void Two_pointers_to_one_child_are_LIMG0380()
    {
        using var temp = new TempDir("btrfs-dmg-dup-ptr");
        string image = DeepTree(temp);
        var (logical, level) = TreeRoot(image, "5");
        Assert.IsGreaterThanOrEqualTo(1, level);
        Edit(image, Physical(image, logical)[0], 4096, b =>
        {
            b.AsSpan(101 + 17, 16).CopyTo(b.AsSpan(101 + 33 + 17));
        });
        var e = OpenAndReadAllExpectingError(image);
        Assert.AreEqual("LIMG0380", e.Descriptor.Code);
    }

    [TestMethod]
    public void Damaged_first_copy_of_a_DUP_block_is_read_from_the_second_as_the_kernel_does()
    {
        using var temp = new TempDir("btrfs-dmg-dup");
        string image = BtrfsTestImage.Create(temp, 256, ["-m", "dup"]);
        var (logical, _) = TreeRoot(image, "5");
        var copies = Physical(image, logical);
        Assert.HasCount(2, copies);
        Edit(image, copies[0], 16384, b => b[300] ^= 0xFF, fixChecksum: false);
        BtrfsTestImage.AssertSameAsKernel(image, string.Empty, temp, minimumEntries: 400);
    }

    [TestMethod]
    public void Subvolume_root_that_is_not_a_directory_is_LIMG0380()
    {
        // Found by the fuzzer: an IOException escaped from listing the root.
        using var temp = new TempDir("btrfs-dmg-rootmode");
        string image = BtrfsTestImage.Create(temp, 256, ["-m", "single"], root => File.WriteAllText(Path.Combine(root, "a"), "a"));
        var (logical, level) = TreeRoot(image, "5");
        Assert.AreEqual(0, level, "a one-leaf file tree");
        Edit(image, Physical(image, logical)[0], 16384, b =>
        {
            // Item 0 is (256 INODE_ITEM 0); its data offset (after the key) counts from the end of the header; mode at 52.
            Assert.AreEqual(256UL, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(101)));
            Assert.AreEqual(1, b[101 + 8]);
            int data = 101 + (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(101 + 17));
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(data + 52), 0x81A4);
        });
        var e = OpenAndReadAllExpectingError(image);
        Assert.AreEqual("LIMG0380", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "not a directory");
    }

    [TestMethod]
    public void Chunk_beyond_the_device_is_LIMG0380()
    {
        using var temp = new TempDir("btrfs-dmg-chunk");
        string image = BtrfsTestImage.Create(temp, 256, []);
        // The first system chunk's first stripe offset: array at 0x32b, then key (17) and chunk header (48), devid (8).
        Edit(image, SuperblockOffset, 4096, b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(0x32b + 17 + 48 + 8), 1L << 40));
        var e = OpenAndReadAllExpectingError(image);
        Assert.AreEqual("LIMG0380", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "beyond the end");
    }

    [TestMethod]
    public void Truncated_image_is_LIMG0380()
    {
        using var temp = new TempDir("btrfs-dmg-trunc");
        string image = BtrfsTestImage.Create(temp, 256, []);
        using (var f = new FileStream(image, FileMode.Open))
        {
            f.SetLength(8 << 20);
        }
        var e = OpenAndReadAllExpectingError(image);
        Assert.AreEqual("LIMG0380", e.Descriptor.Code);
    }

    [TestMethod]
    public void Log_tree_that_needs_replay_is_LIMG0382()
    {
        using var temp = new TempDir("btrfs-dmg-log");
        string image = BtrfsTestImage.Create(temp, 256, []);
        Edit(image, SuperblockOffset, 4096, b => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(0x60), 30 << 20));
        var e = OpenAndReadAllExpectingError(image);
        Assert.AreEqual("LIMG0382", e.Descriptor.Code);
    }

    [TestMethod]
    public void File_system_on_several_devices_is_LIMG0381()
    {
        using var temp = new TempDir("btrfs-dmg-multi");
        string image = BtrfsTestImage.Create(temp, 256, []);
        Edit(image, SuperblockOffset, 4096, b => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(0x88), 2));
        var e = OpenAndReadAllExpectingError(image);
        Assert.AreEqual("LIMG0381", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "2 devices");
    }

    [TestMethod]
    public void Data_checksum_failure_is_LIMG0380_as_the_kernel_reports_EIO()
    {
        using var temp = new TempDir("btrfs-dmg-data");
        string image = BtrfsTestImage.Create(temp, 256, ["-m", "single"]);
        var content = File.ReadAllBytes(temp["tree/boot/initrd"]);
        long at = Find(image, content.AsSpan(100_000, 64));
        Edit(image, at, 1, b => b[0] ^= 1, fixChecksum: false);

        using (var volume = FileVolume.OpenRead(image))
        {
            var fs = BtrfsFileSystem.Open(volume, image);
            ulong initrd = fs.Lookup(fs.Lookup(fs.RootNode, "boot")!.Value, "initrd")!.Value;
            var e = Assert.ThrowsExactly<LinuxImageException>(() => fs.ReadFile(initrd));
            Assert.AreEqual("LIMG0380", e.Descriptor.Code);
            StringAssert.Contains(e.Message, "crc32c checksum");
        }
        BtrfsTestImage.WithMount(image, "ro,loop", temp, m => Assert.ThrowsExactly<IOException>(() => File.ReadAllBytes(Path.Combine(m, "boot", "initrd"))));
    }

    private static long Find(string image, ReadOnlySpan<byte> needle)
    {
        var data = File.ReadAllBytes(image);
        int at = data.AsSpan().IndexOf(needle);
        Assert.IsGreaterThanOrEqualTo(0, at, "the file's data is in the image");
        return at;
    }
}
