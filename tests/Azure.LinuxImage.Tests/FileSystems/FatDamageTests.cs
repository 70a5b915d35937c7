using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.FileSystems.Fat;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// Damaged FAT images (made by mkfs.vfat and mcopy, then broken at known places): every one is a
/// LIMG0360 error, never a crash or a hang; fsck.vfat -n agrees each is damaged.
/// </summary>
[TestClass]
public sealed class FatDamageTests
{
    private static LinuxImageException Fails(Action action)
    {
        var e = Assert.ThrowsExactly<LinuxImageException>(action);
        Assert.AreEqual("LIMG0360", e.Descriptor.Code, e.Message);
        return e;
    }

    private static string Damage(FatTestImage image, Action<byte[], FatFileSystem> change)
    {
        var bytes = File.ReadAllBytes(image.ImagePath);
        change(bytes, image.FileSystem);
        string path = image.Temp[$"damaged-{Guid.NewGuid():N}.img"];
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Sets a cluster's entry in every FAT copy, in the width of the volume's FAT (the top four bits of a FAT32 entry kept).</summary>
    private static void SetFat(byte[] bytes, FatBootSector boot, uint cluster, uint value)
    {
        for (int copy = 0; copy < boot.FatCount; copy++)
        {
            int fat = (int)(boot.FatOffset + (copy * boot.FatBytes));
            switch (boot.Kind)
            {
                case FatKind.Fat12:
                    var pair = bytes.AsSpan(fat + (int)(cluster * 3 / 2));
                    uint both = BinaryPrimitives.ReadUInt16LittleEndian(pair);
                    both = (cluster & 1) == 0 ? (both & 0xF000u) | (value & 0xFFFu) : (both & 0x000Fu) | ((value & 0xFFFu) << 4);
                    BinaryPrimitives.WriteUInt16LittleEndian(pair, (ushort)both);
                    break;
                case FatKind.Fat16:
                    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(fat + (int)(cluster * 2)), (ushort)value);
                    break;
                default:
                    var entry = bytes.AsSpan(fat + (int)(cluster * 4));
                    BinaryPrimitives.WriteUInt32LittleEndian(entry, (BinaryPrimitives.ReadUInt32LittleEndian(entry) & 0xF0000000) | (value & 0x0FFFFFFF));
                    break;
            }
        }
    }

    private static uint FirstCluster(byte[] bytes, ulong node) =>
        BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan((int)node + 26)) | ((uint)BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan((int)node + 20)) << 16);

    [TestMethod]
    [DataRow(510, 0x00, "signature")]
    [DataRow(11, 0x00, "bytes per sector")]
    [DataRow(13, 0x03, "sectors per cluster")]
    [DataRow(16, 0x00, "FATs")]
    public void BadBootSector_IsLimg0360(int offset, int value, string what)
    {
        using var image = FatTestImage.Create("fat-badboot", 16, 32 * 1024);
        string path = Damage(image, (b, _) =>
        {
            b[offset] = (byte)value;
            if (offset == 11)
            {
                b[12] = 0x03; // 768 bytes per sector
            }
        });
        var e = Fails(() => FatFileSystemTests.OpenFile(path, out _));
        StringAssert.Contains(e.Message, what);
        using var raw = new Azure.LinuxImage.Engine.Disks.Raw.RawDiskImage(Azure.LinuxImage.Engine.IO.SourceFile.Open(path));
        Assert.IsFalse(new FatFileSystemType().Probe(raw));
    }

    [TestMethod]
    public void BootSectorLargerThanVolume_IsLimg0360()
    {
        using var image = FatTestImage.Create("fat-truncated", 16, 32 * 1024);
        var bytes = File.ReadAllBytes(image.ImagePath);
        string path = image.Temp["truncated.img"];
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Fails(() => FatFileSystemTests.OpenFile(path, out _));
        StringAssert.Contains(e.Message, "volume holds only");
    }

    [TestMethod]
    public void ChainLoop_IsLimg0360_NoHang()
    {
        using var image = FatTestImage.Create("fat-loop", 16, 32 * 1024);
        ulong node = FatFileSystemTests.Resolve(image.FileSystem, "EFI/debian/grubx64.efi");
        string path = Damage(image, (b, fs) =>
        {
            uint first = FirstCluster(b, node);
            // The third cluster of the file points back to the first.
            SetFat(b, fs.Boot, first + 2, first);
        });
        Assert.AreNotEqual(0, Azure.LinuxImage.Tests.Infrastructure.ExternalTool.Run("fsck.vfat", ["-n", path]).ExitCode);
        var fs2 = FatFileSystemTests.OpenFile(path, out var disk);
        using (disk)
        {
            var e = Fails(() => fs2.ReadFile(node));
            StringAssert.Contains(e.Message, "loops");
            Fails(() => fs2.Delete(FatFileSystemTests.Resolve(fs2, "EFI/debian"), "grubx64.efi"));
        }
    }

    /// <summary>The same loop in a FAT12 file (12-bit entries packed in pairs) and in the FAT32 root directory, which is a cluster chain there.</summary>
    [TestMethod]
    public void Fat12ChainLoop_AndFat32RootDirectoryLoop_AreLimg0360_NoHang()
    {
        using var fat12 = FatTestImage.Create("fat12-loop", 12, 4096);
        Assert.AreEqual(FatKind.Fat12, fat12.FileSystem.Boot.Kind);
        ulong node = FatFileSystemTests.Resolve(fat12.FileSystem, "EFI/debian/grubx64.efi");
        string path12 = Damage(fat12, (b, fs) =>
        {
            uint first = FirstCluster(b, node);
            SetFat(b, fs.Boot, first + 3, first + 1);
        });
        Assert.AreNotEqual(0, Azure.LinuxImage.Tests.Infrastructure.ExternalTool.Run("fsck.vfat", ["-n", path12]).ExitCode);
        var fs12 = FatFileSystemTests.OpenFile(path12, out var disk12);
        using (disk12)
        {
            StringAssert.Contains(Fails(() => fs12.ReadFile(node)).Message, "loops");
        }

        using var fat32 = FatTestImage.Create("fat32-rootloop", 32, 64 * 1024, mkfsOptions: ["-s", "1"]);
        // The root's first cluster is its last: it is made to point to itself.
        string path32 = Damage(fat32, (b, fs) => SetFat(b, fs.Boot, fs.Boot.RootCluster, fs.Boot.RootCluster));
        Assert.AreNotEqual(0, Azure.LinuxImage.Tests.Infrastructure.ExternalTool.Run("fsck.vfat", ["-n", path32]).ExitCode);
        var fs32 = FatFileSystemTests.OpenFile(path32, out var disk32);
        using (disk32)
        {
            Fails(() => fs32.ListDirectory(fs32.RootNode));
            Fails(() => fs32.Lookup(fs32.RootNode, "missing"));
        }
    }

    [TestMethod]
    public void ClusterOutOfRange_IsLimg0360()
    {
        using var image = FatTestImage.Create("fat-range", 16, 32 * 1024);
        ulong node = FatFileSystemTests.Resolve(image.FileSystem, "EFI/debian/grubx64.efi");
        string path = Damage(image, (b, fs) => SetFat(b, fs.Boot, FirstCluster(b, node), fs.Boot.ClusterCount + 10));
        var fs2 = FatFileSystemTests.OpenFile(path, out var disk);
        using (disk)
        {
            StringAssert.Contains(Fails(() => fs2.ReadFile(node)).Message, "outside the data area");
        }
        // A directory entry whose first cluster is out of range.
        string path2 = Damage(image, (b, fs) =>
        {
            ulong efi = FatFileSystemTests.Resolve(fs, "EFI");
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan((int)efi + 26), 0xFFF0);
        });
        var fs3 = FatFileSystemTests.OpenFile(path2, out var disk3);
        using (disk3)
        {
            Fails(() => fs3.ListDirectory(fs3.RootNode));
            Fails(() => fs3.Lookup(fs3.RootNode, "EFI"));
        }
    }

    [TestMethod]
    public void ShortChain_IsLimg0360()
    {
        using var image = FatTestImage.Create("fat-short", 16, 32 * 1024);
        ulong node = FatFileSystemTests.Resolve(image.FileSystem, "EFI/debian/grubx64.efi");
        string path = Damage(image, (b, fs) => SetFat(b, fs.Boot, FirstCluster(b, node), 0xFFFF));
        var fs2 = FatFileSystemTests.OpenFile(path, out var disk);
        using (disk)
        {
            StringAssert.Contains(Fails(() => fs2.ReadFile(node)).Message, "chain of only");
        }
    }

    [TestMethod]
    public void DirectoryLoop_IsLimg0360_NoHang()
    {
        using var image = FatTestImage.Create("fat-dirloop", 16, 32 * 1024);
        var fs = image.FileSystem;
        ulong boot = FatFileSystemTests.Resolve(fs, "EFI/BOOT");
        ulong efi = FatFileSystemTests.Resolve(fs, "EFI");
        // EFI/BOOT now names the EFI directory itself: EFI contains itself.
        string path = Damage(image, (b, _) =>
        {
            b[(int)boot + 26] = b[(int)efi + 26];
            b[(int)boot + 27] = b[(int)efi + 27];
        });
        Assert.AreNotEqual(0, Azure.LinuxImage.Tests.Infrastructure.ExternalTool.Run("fsck.vfat", ["-n", path]).ExitCode);
        var fs2 = FatFileSystemTests.OpenFile(path, out var disk);
        using (disk)
        {
            ulong efi2 = FatFileSystemTests.Resolve(fs2, "EFI");
            StringAssert.Contains(Fails(() => fs2.ListDirectory(efi2)).Message, "directory loop");
            Fails(() => fs2.Lookup(efi2, "boot"));
        }
    }

    [TestMethod]
    public void DifferentFatCopies_RefuseWritesButRead()
    {
        using var image = FatTestImage.Create("fat-copies", 16, 32 * 1024);
        string path = Damage(image, (b, fs) => b[(int)(fs.Boot.FatOffset + fs.Boot.FatBytes + 100)] ^= 0xFF);
        var fs2 = FatFileSystemTests.OpenFile(path, out var disk);
        using (disk)
        {
            StringAssert.Contains(fs2.WriteRefusal, "differs");
            Assert.AreEqual(9000, fs2.ReadFile(FatFileSystemTests.Resolve(fs2, "EFI/BOOT/BOOTX64.EFI")).Length);
            Assert.ThrowsExactly<InvalidOperationException>(() => fs2.CreateFile(fs2.RootNode, "x", "x"u8, 0x1A4, 0, 0));
        }
    }
}
