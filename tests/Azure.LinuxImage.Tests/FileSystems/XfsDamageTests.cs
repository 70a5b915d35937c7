using System.Diagnostics;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// Damaged XFS images (made by mkfs.xfs, then broken on purpose with xfs_db in expert mode or by
/// flipping bytes): each is a clear LIMG error when opened or when the damaged part is read,
/// never a crash or a hang.
/// </summary>
[TestClass]
public sealed class XfsDamageTests
{
    private static LinuxImageException ReadAll(XfsTestImage image)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            var fs = image.Open();
            XfsTestImage.EngineListing(fs);
            XfsTestImage.EngineXattrs(fs);
            foreach (string p in new[] { "/boot/initramfs.img", "/etc/fstab", "/boot/fragmented" })
            {
                if (fs.Lookup(XfsReadTests.Resolve(fs, "/" + p.Split('/')[1]), p.Split('/')[2]) is ulong n)
                {
                    fs.ReadFile(n);
                }
            }
            Assert.Fail("the damage went unnoticed");
            return null!;
        }
        catch (LinuxImageException e)
        {
            return e;
        }
    }

    private static void Flip(string image, long offset)
    {
        using var f = File.Open(image, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        int b = f.ReadByte();
        f.Position = offset;
        f.WriteByte((byte)(b ^ 0x40));
    }

    [TestMethod]
    public void A_bad_inode_checksum_is_LIMG0340()
    {
        using var image = XfsTestImage.Create("xfs-dmg-crc", []);
        ulong ino = XfsTestImage.InodeOf(image.ImagePath, "/etc/fstab");
        var fs = image.Open();
        var sb = fs.Superblock;
        int shift = sb.AgBlockLog + sb.InodesPerBlockLog;
        long offset = ((long)(ino >> shift) * sb.AgBlocks * sb.BlockSize) + ((long)(ino & ((1UL << shift) - 1)) * sb.InodeSize);
        image.Close();
        Flip(image.ImagePath, offset + 60); // a byte of di_size
        var e = ReadAll(image);
        Assert.AreEqual("LIMG0340", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "checksum");
    }

    [TestMethod]
    [DataRow("agf 1", "write -d magicnum 0x12345678", "AGF")]
    [DataRow("agi 2", "write -d seqno 7", "AGI")]
    [DataRow("agf 0", "write -d bnolevel 40", "AGF")]
    public void A_damaged_AG_header_is_LIMG0340(string select, string write, string what)
    {
        using var image = XfsTestImage.Create("xfs-dmg-ag", []);
        XfsTestImage.DbWrite(image.ImagePath, select, write);
        var e = ReadAll(image);
        Assert.AreEqual("LIMG0340", e.Descriptor.Code, e.Message);
        StringAssert.Contains(e.Message, what);
    }

    [TestMethod]
    public void A_bad_superblock_checksum_is_LIMG0340()
    {
        using var image = XfsTestImage.Create("xfs-dmg-sb", []);
        Flip(image.ImagePath, 130); // sb_icount
        var e = ReadAll(image);
        Assert.AreEqual("LIMG0340", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "superblock");
    }

    private static XfsTestImage Fragmented(string name)
    {
        var image = XfsTestImage.Create(name, []);
        XfsTestImage.WithKernelMount(image.ImagePath, readOnly: false, mount =>
        {
            string frag = Path.Combine(mount, "boot", "fragmented");
            File.WriteAllBytes(frag, new byte[4 << 20]);
            var punch = new List<string>();
            for (int i = 0; i < 400; i++)
            {
                punch.Add("-c");
                punch.Add($"fpunch {(i * 8192) + 4096} 4096");
            }
            ExternalTool.RunChecked("xfs_io", [.. punch, frag]);
        });
        return image;
    }

    [TestMethod]
    public void A_bmap_btree_that_points_twice_at_one_block_is_LIMG0340_not_a_hang()
    {
        using var image = Fragmented("xfs-dmg-loop");
        string ptr = XfsTestImage.Db(image.ImagePath, "path /boot/fragmented", "inode", "print u3.bmbt.ptrs[1]").Trim();
        string value = ptr[(ptr.IndexOf('=', StringComparison.Ordinal) + 1)..].Trim();
        // Both root pointers name the same child: a loop for a walker that does not remember where it was.
        XfsTestImage.DbWrite(image.ImagePath, "path /boot/fragmented", "inode", $"write -d u3.bmbt.ptrs[2] {value}");
        var e = ReadAll(image);
        Assert.AreEqual("LIMG0340", e.Descriptor.Code, e.Message);
    }

    [TestMethod]
    public void An_extent_outside_its_allocation_group_is_LIMG0340()
    {
        using var image = XfsTestImage.Create("xfs-dmg-extent", []);
        XfsTestImage.DbWrite(image.ImagePath, "path /boot/initramfs.img", "inode", "write -d u3.bmx[0].startblock 999999999");
        var e = ReadAll(image);
        Assert.AreEqual("LIMG0340", e.Descriptor.Code, e.Message);
        StringAssert.Contains(e.Message, "outside");
    }

    [TestMethod]
    public void A_directory_block_with_a_bad_checksum_is_LIMG0340()
    {
        using var image = XfsTestImage.Create("xfs-dmg-dir", []);
        string bmx = XfsTestImage.Db(image.ImagePath, "path /dirs/block", "inode", "print u3.bmx[0].startblock").Trim();
        ulong fsblock = ulong.Parse(bmx[(bmx.IndexOf('=', StringComparison.Ordinal) + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var sb = image.Open().Superblock;
        long offset = (long)(((fsblock >> sb.AgBlockLog) * sb.AgBlocks) + (fsblock & ((1UL << sb.AgBlockLog) - 1))) * sb.BlockSize;
        image.Close();
        Flip(image.ImagePath, offset + 100);
        var e = ReadAll(image);
        Assert.AreEqual("LIMG0340", e.Descriptor.Code, e.Message);
        StringAssert.Contains(e.Message, "directory");
    }

    [TestMethod]
    public void Random_damage_to_metadata_never_escapes_as_anything_but_a_LIMG_error()
    {
        using var image = XfsTestImage.Create("xfs-dmg-random", []);
        var rng = new Random(11);
        var fs = image.Open();
        var sb = fs.Superblock;
        // The metadata is in the first blocks of each AG here: headers, btrees, inodes, directories.
        int errors = 0;
        for (int round = 0; round < 60; round++)
        {
            image.Close();
            var saved = new List<(long Offset, int Value)>();
            using (var f = File.Open(image.ImagePath, FileMode.Open, FileAccess.ReadWrite))
            {
                for (int k = 0; k < 8; k++)
                {
                    long ag = rng.Next((int)sb.AgCount);
                    long offset = (ag * sb.AgBlocks * sb.BlockSize) + rng.Next(64 * sb.BlockSize);
                    f.Position = offset;
                    saved.Add((offset, f.ReadByte()));
                    f.Position = offset;
                    f.WriteByte((byte)rng.Next(256));
                }
            }
            try
            {
                var damaged = image.Open();
                XfsTestImage.EngineListing(damaged);
                XfsTestImage.EngineXattrs(damaged);
            }
            catch (LinuxImageException e)
            {
                StringAssert.StartsWith(e.Descriptor.Code, "LIMG03");
                errors++;
            }
            catch (FileNotFoundException)
            {
            }
            image.Close();
            using (var f = File.Open(image.ImagePath, FileMode.Open, FileAccess.ReadWrite))
            {
                foreach (var (offset, value) in Enumerable.Reverse(saved))
                {
                    f.Position = offset;
                    f.WriteByte((byte)value);
                }
            }
        }
        Assert.IsTrue(errors > 0);
    }
}
