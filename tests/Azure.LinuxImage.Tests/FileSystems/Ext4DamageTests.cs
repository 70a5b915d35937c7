using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.FileSystems.Ext4;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>Damaged and unsupported file systems: clear LIMG errors, nothing written, no hang.</summary>
[TestClass]
public sealed partial class Ext4DamageTests
{
    private static void Edit(Ext4TestImage img, string request) => ExternalTool.RunChecked("debugfs", "-w", "-R", request, img.ImagePath);

    private static LinuxImageException ReadAllExpectingError(Ext4TestImage img, string path)
    {
        using var reopened = Ext4TestImage.Reopen(img);
        return Assert.ThrowsExactly<LinuxImageException>(() =>
        {
            var fs = reopened.FileSystem;
            uint ino = Ext4FileSystem.RootInode;
            foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                var dir = fs.ReadInode(ino);
                ino = fs.Lookup(dir, part);
            }
            var inode = fs.ReadInode(ino);
            if (inode.IsDirectory)
            {
                fs.ReadDirectory(inode);
            }
            else
            {
                fs.ReadData(inode);
            }
        });
    }

    private static long BlockOf(Ext4TestImage img, string path)
    {
        string output = ExternalTool.RunChecked("debugfs", "-R", $"bmap {path} 0", img.ImagePath).StdOut.Trim();
        return long.Parse(output, CultureInfo.InvariantCulture);
    }

    private static void Poke(Ext4TestImage img, long offset, ReadOnlySpan<byte> bytes)
    {
        using var f = new FileStream(img.ImagePath, FileMode.Open);
        f.Position = offset;
        f.Write(bytes);
    }

    [TestMethod]
    public void Extent_pointing_outside_the_file_system_is_damage()
    {
        using var img = Ext4TestImage.Create("ext-range", 16, ["-t", "ext4"]);
        Edit(img, "sif /boot/initrd.img block[5] 0x7ffffff0");
        var e = ReadAllExpectingError(img, "/boot/initrd.img");
        Assert.AreEqual("LIMG0310", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "outside the file system");
    }

    [TestMethod]
    public void Extent_index_to_a_block_without_extent_magic_or_back_to_itself_is_damage()
    {
        using var img = Ext4TestImage.Create("ext-loop", 16, ["-t", "ext4", "-O", "^metadata_csum"]);
        long data = BlockOf(img, "/boot/initrd.img");
        // Root becomes an index (depth 2) pointing at a block that we make an index (depth 1) pointing at itself.
        Edit(img, $"sif /boot/initrd.img block[1] {4 | (2 << 16)}");
        Edit(img, $"sif /boot/initrd.img block[4] {data}");
        Edit(img, "sif /boot/initrd.img block[5] 0");
        var node = new byte[24];
        BinaryPrimitives.WriteUInt16LittleEndian(node, 0xF30A);
        BinaryPrimitives.WriteUInt16LittleEndian(node.AsSpan(2), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(node.AsSpan(4), 340);
        BinaryPrimitives.WriteUInt16LittleEndian(node.AsSpan(6), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(node.AsSpan(16), (uint)data);
        Poke(img, data * img.FileSystem.BlockSize, node);
        var e = ReadAllExpectingError(img, "/boot/initrd.img");
        Assert.AreEqual("LIMG0310", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "extent node");
    }

    [TestMethod]
    [DataRow(0, DisplayName = "rec_len 0")]
    [DataRow(60000, DisplayName = "rec_len beyond the block")]
    [DataRow(13, DisplayName = "rec_len not 4-aligned")]
    public void Directory_entry_with_an_impossible_length_is_damage(int recLen)
    {
        using var img = Ext4TestImage.Create("dirlen", 16, ["-t", "ext4", "-O", "^metadata_csum"]);
        long block = BlockOf(img, "/etc/ssh");
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)recLen);
        Poke(img, (block * img.FileSystem.BlockSize) + 12 + 4, bytes); // the '..' entry
        var e = ReadAllExpectingError(img, "/etc/ssh");
        Assert.AreEqual("LIMG0310", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "invalid length");
    }

    [TestMethod]
    public void Directory_entry_naming_an_inode_out_of_range_is_damage()
    {
        using var img = Ext4TestImage.Create("dirino", 16, ["-t", "ext4", "-O", "^metadata_csum"]);
        long block = BlockOf(img, "/etc/ssh");
        Poke(img, (block * img.FileSystem.BlockSize) + 24, [0xF0, 0xFF, 0xFF, 0x7F]); // third entry: sshd_config
        var e = ReadAllExpectingError(img, "/etc/ssh");
        Assert.AreEqual("LIMG0310", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "beyond the");
    }

    [TestMethod]
    public void Metadata_blocks_failing_their_checksums_are_damage()
    {
        using var img = Ext4TestImage.Create("csum", 16, ["-t", "ext4"]);
        long block = BlockOf(img, "/etc/ssh");
        Poke(img, (block * img.FileSystem.BlockSize) + 24 + 8, "X"u8); // a byte of the name 'sshd_config'
        var e = ReadAllExpectingError(img, "/etc/ssh");
        Assert.AreEqual("LIMG0310", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "fails its checksum");

        Edit(img, "sif /etc/fstab links_count 7");
        ExternalTool.RunChecked("debugfs", "-w", "-R", "sif /etc/fstab checksum 0x1234", img.ImagePath);
        e = ReadAllExpectingError(img, "/etc/fstab");
        StringAssert.Contains(e.Message, "inode");
        StringAssert.Contains(e.Message, "fails its checksum");
    }

    [TestMethod]
    public void A_file_system_needing_journal_recovery_is_refused()
    {
        using var img = Ext4TestImage.Create("recover", 16, ["-t", "ext4"]);
        Edit(img, "feature needs_recovery");
        var e = Assert.ThrowsExactly<LinuxImageException>(() => Ext4TestImage.Reopen(img));
        Assert.AreEqual("LIMG0311", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "needs journal recovery");
    }

    [TestMethod]
    public void A_root_inode_that_is_not_a_directory_is_damage_found_on_open()
    {
        using var img = Ext4TestImage.Create("rootfile", 16, ["-t", "ext4"]);
        Edit(img, "sif <2> mode 0100644");
        var e = Assert.ThrowsExactly<LinuxImageException>(() => Ext4TestImage.Reopen(img));
        Assert.AreEqual("LIMG0310", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "the root inode (2) is not a directory");
    }

    [TestMethod]
    [DataRow("ext2", "ssv state 0", "was not cleanly unmounted (its state is not 'clean')")]
    [DataRow("ext2", "ssv last_orphan 12", "has an orphan inode list")]
    [DataRow("ext4", "feature orphan_present", "has an orphan inode list")]
    public void An_unclean_file_system_without_journal_recovery_is_not_said_to_need_it(string type, string edit, string reason)
    {
        using var img = Ext4TestImage.Create("unclean-" + type, 16, ["-t", type]);
        Edit(img, edit);
        using var reopened = Ext4TestImage.Reopen(img);
        var e = Assert.ThrowsExactly<LinuxImageException>(() => reopened.FileSystem.CreateFile(Ext4FileSystem.RootInode, "x", "y"u8, 0x1A4));
        Assert.AreEqual("LIMG0311", e.Descriptor.Code);
        StringAssert.Contains(e.Message, reason);
        Assert.DoesNotContain("journal", e.Message);
        Assert.AreEqual(0, reopened.Overlay.GetChanges().Count);
    }

    [TestMethod]
    public void An_unclean_ext2_is_refused_for_writing_with_nothing_written()
    {
        using var img = Ext4TestImage.Create("unclean", 16, ["-t", "ext2"]);
        Edit(img, "ssv state 0");
        using var reopened = Ext4TestImage.Reopen(img);
        var fs = reopened.FileSystem;
        Assert.IsNotNull(fs.ReadDirectory(fs.ReadInode(Ext4FileSystem.RootInode)));
        var e = Assert.ThrowsExactly<LinuxImageException>(() => fs.CreateFile(Ext4FileSystem.RootInode, "x", "y"u8, 0x1A4));
        Assert.AreEqual("LIMG0311", e.Descriptor.Code);
        Assert.AreEqual(0, reopened.Overlay.GetChanges().Count);
    }

    [TestMethod]
    public void Features_we_do_not_write_are_refused_with_nothing_written()
    {
        using var img = Ext4TestImage.Create("quota", 16, ["-t", "ext4", "-O", "quota"]);
        var fs = img.FileSystem;
        uint etc = fs.Lookup(fs.ReadInode(Ext4FileSystem.RootInode), "etc");
        Assert.AreNotEqual(0u, etc, "reading still works");
        var e = Assert.ThrowsExactly<LinuxImageException>(() => fs.CreateFile(etc, "x", "y"u8, 0x1A4));
        Assert.AreEqual("LIMG0312", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "ro_compat 0x100");
        Assert.AreEqual(0, img.Overlay.GetChanges().Count);
    }

    [TestMethod]
    public void An_unknown_incompatible_feature_is_refused_even_for_reading()
    {
        using var img = Ext4TestImage.Create("incompat", 16, ["-t", "ext4", "-O", "^metadata_csum"]);
        Edit(img, "ssv feature_incompat 0x800002c2");
        var e = Assert.ThrowsExactly<LinuxImageException>(() => Ext4TestImage.Reopen(img));
        Assert.AreEqual("LIMG0312", e.Descriptor.Code);
    }

    [TestMethod]
    public void No_space_is_reported_and_the_failed_change_leaves_nothing_behind()
    {
        using var img = Ext4TestImage.Create("full", 8, ["-t", "ext4"]);
        var fs = img.FileSystem;
        var e = Assert.ThrowsExactly<LinuxImageException>(() => fs.CreateFile(Ext4FileSystem.RootInode, "huge", new byte[20 << 20], 0x1A4));
        Assert.AreEqual("LIMG0313", e.Descriptor.Code);
        Assert.AreEqual(0, img.Overlay.GetChanges().Count, "the failed change left bytes behind");
        // After other changes succeeded, a failing one leaves exactly their bytes (each change works in its own layer).
        uint dir = fs.CreateDirectory(Ext4FileSystem.RootInode, "d", 0x1ED);
        var before = img.Overlay.GetChanges().Select(c => (c.Offset, Convert.ToHexString(c.Data))).ToList();
        long free = (long)fs.Superblock.FreeBlocksCount;
        var fill = new byte[(free - 1) * fs.BlockSize];
        Assert.ThrowsExactly<LinuxImageException>(() => fs.CreateFile(dir, "fill", fill, 0x1A4));
        CollectionAssert.AreEqual(before, img.Overlay.GetChanges().Select(c => (c.Offset, Convert.ToHexString(c.Data))).ToList(), "the failed change left bytes behind");
        fs.CreateFile(Ext4FileSystem.RootInode, "small", "ok"u8, 0x1A4);
        img.AssertCleanAfterChanges();
    }

    /// <summary>
    /// Bounded mutation ("fuzz") of the superblock, group descriptors, an inode table block and a
    /// directory block of a checksum-less file system (so mutations reach the structure checks
    /// rather than stopping at a checksum): every outcome is a file system that reads, or an LIMG error.
    /// </summary>
    [TestMethod]
    public void Bounded_mutations_give_reads_or_LIMG_errors_only()
    {
        using var img = Ext4TestImage.Create("fuzz", 4, ["-t", "ext4", "-O", "^metadata_csum,^has_journal", "-b", "1024", "-N", "64"]);
        byte[] original = File.ReadAllBytes(img.ImagePath);
        var fs0 = img.FileSystem;
        long etcBlock = (long)fs0.MapFile(fs0.ReadInode(fs0.Lookup(fs0.ReadInode(2), "etc"))).Runs[0].Physical;
        var itable = ImapRegex().Match(ExternalTool.RunChecked("debugfs", "-R", "imap /etc", img.ImagePath).StdOut);
        long inodeBlock = long.Parse(itable.Groups[1].Value, CultureInfo.InvariantCulture);
        long[] regions = [1024, 2048, inodeBlock * 1024, etcBlock * 1024];
        var random = new Random(42);
        int opened = 0;
        for (int i = 0; i < 400; i++)
        {
            byte[] bytes = (byte[])original.Clone();
            long region = regions[i % regions.Length];
            for (int k = random.Next(1, 4); k > 0; k--)
            {
                bytes[region + random.Next(1024)] = (byte)random.Next(256);
            }
            var volume = new Partitions.MemoryVolume(bytes);
            try
            {
                var fs = Ext4FileSystem.Open(volume, "fuzz");
                opened++;
                Walk(fs, Ext4FileSystem.RootInode, 0, []);
            }
            catch (LinuxImageException)
            {
            }
        }
        Assert.IsTrue(opened > 100, $"only {opened} mutants opened; the mutations are not reaching the readers");
    }

    private static void Walk(Ext4FileSystem fs, uint ino, int depth, HashSet<uint> seen)
    {
        if (depth > 16 || !seen.Add(ino))
        {
            return;
        }
        var inode = fs.ReadInode(ino);
        if (inode.IsDirectory)
        {
            foreach (var e in fs.ReadDirectory(inode))
            {
                if (e.Name is not "." and not ".." && e.Inode != 0)
                {
                    Walk(fs, e.Inode, depth + 1, seen);
                }
            }
        }
        else if (inode.IsSymlink)
        {
            fs.ReadSymlink(inode);
        }
        else if (inode.IsRegular)
        {
            fs.ReadData(inode);
            fs.ReadXattrs(inode);
        }
    }

    [GeneratedRegex(@"located at block (\d+)")]
    private static partial Regex ImapRegex();
}
