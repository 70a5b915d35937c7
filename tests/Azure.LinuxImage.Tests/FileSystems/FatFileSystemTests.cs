using System.Text;
using Azure.LinuxImage.Engine.Disks.Raw;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.FileSystems.Fat;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// FAT12, FAT16 and FAT32 made by mkfs.vfat and filled by mcopy: read through the IFileSystem seam,
/// written, and every write judged by fsck.vfat -n and read back by mtools.
/// </summary>
[TestClass]
public sealed class FatFileSystemTests
{
    public static IEnumerable<object[]> Kinds =>
    [
        [12, 4096, Array.Empty<string>()],
        [16, 32 * 1024, Array.Empty<string>()],
        [32, 64 * 1024, new[] { "-s", "1" }],
    ];

    internal static ulong Resolve(IFileSystem fs, string path)
    {
        ulong node = fs.RootNode;
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            node = fs.Lookup(node, part) ?? throw new FileNotFoundException(path);
        }
        return node;
    }

    [TestMethod]
    [DynamicData(nameof(Kinds))]
    public void Read_EveryFileAsMcopyWroteIt_CaseInsensitive(int bits, int sizeKiB, string[] mkfs)
    {
        using var image = FatTestImage.Create($"fat{bits}-read", bits, sizeKiB, mkfsOptions: mkfs);
        var fs = image.FileSystem;
        Assert.AreEqual(bits switch { 12 => FatKind.Fat12, 16 => FatKind.Fat16, _ => FatKind.Fat32 }, fs.Boot.Kind);
        foreach (var (path, content) in FatTestImage.DefaultFiles())
        {
            CollectionAssert.AreEqual(content, fs.ReadFile(Resolve(fs, path)), path);
            CollectionAssert.AreEqual(content, fs.ReadFile(Resolve(fs, path.ToLowerInvariant())), path + " in lower case");
        }
        var names = fs.ListDirectory(Resolve(fs, "EFI/debian")).Select(e => e.Name).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(new[] { "A long file name with spaces.txt", "grub.cfg", "grubx64.efi" }, names);
        Assert.AreEqual(FileSystemNodeKind.Directory, fs.Stat(Resolve(fs, "efi/BOOT")).Kind);
        Assert.IsNull(fs.Lookup(fs.RootNode, "missing"));

        var (uuid, label) = new FatFileSystemType().Identify(image.Overlay);
        Assert.AreEqual("ESPTEST", label);
        Assert.IsTrue(FatVolumeSerial.Matches(uuid!.Value, "ABCD-1234"));
        Assert.IsTrue(FatVolumeSerial.Matches(uuid.Value, "abcd-1234"));
        Assert.IsFalse(FatVolumeSerial.Matches(uuid.Value, "ABCD-1235"));
        Assert.AreEqual("ABCD-1234", FatVolumeSerial.Format(FatTestImage.Serial));
        Assert.IsTrue(new FatFileSystemType().Probe(image.Overlay));
    }

    [TestMethod]
    [DynamicData(nameof(Kinds))]
    public void Write_ReplaceCreateDeleteRename_FsckCleanAndMtoolsReadsBack(int bits, int sizeKiB, string[] mkfs)
    {
        using var image = FatTestImage.Create($"fat{bits}-write", bits, sizeKiB, mkfsOptions: mkfs);
        var fs = image.FileSystem;
        Assert.IsNull(fs.WriteRefusal);

        // Replace: grows the stub to several clusters, shrinks the big loader to one byte.
        var grown = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("set timeout=5 # patched\n", 400)));
        fs.ReplaceContent(Resolve(fs, "efi/debian/GRUB.CFG"), grown);
        fs.ReplaceContent(Resolve(fs, "EFI/debian/grubx64.efi"), "x"u8);

        // Create: a long name, an 8.3 upper-case name, a directory, and enough names to grow a directory by clusters.
        ulong debian = Resolve(fs, "EFI/debian");
        fs.CreateFile(debian, "grubenv", Encoding.ASCII.GetBytes("# GRUB Environment Block\n" + new string('#', 1024 - 25)), 0x1ED, 0, 0);
        fs.CreateFile(fs.RootNode, "NEW.TXT", "plain\n"u8, 0x1A4, 0, 0);
        ulong entries = fs.CreateDirectory(Resolve(fs, "EFI"), "loader entries", 0x1ED, 0, 0);
        for (int i = 0; i < 60; i++)
        {
            fs.CreateFile(entries, $"debian-6.1.0-{i}-amd64 entry number {i}.conf", Encoding.ASCII.GetBytes($"options console=ttyS0 n={i}\n"), 0x1A4, 0, 0);
        }

        // Delete and rename (within a directory, across directories, replacing a file, a directory).
        fs.Delete(debian, "A long file name with spaces.txt");
        fs.Delete(entries, "debian-6.1.0-7-amd64 entry number 7.conf");
        fs.Rename(fs.RootNode, "README.TXT", debian, "readme moved.txt");
        fs.Rename(entries, "debian-6.1.0-8-amd64 entry number 8.conf", entries, "debian-6.1.0-9-amd64 entry number 9.conf");
        fs.Rename(Resolve(fs, "EFI"), "loader entries", fs.RootNode, "loader");

        string copy = image.AssertCleanAfterChanges();

        CollectionAssert.AreEqual(grown, FatTestImage.MType(copy, "EFI/debian/grub.cfg"));
        CollectionAssert.AreEqual("x"u8.ToArray(), FatTestImage.MType(copy, "EFI/debian/grubx64.efi"));
        StringAssert.StartsWith(FatTestImage.MTypeText(copy, "EFI/debian/grubenv"), "# GRUB Environment Block");
        Assert.AreEqual("plain\n", FatTestImage.MTypeText(copy, "NEW.TXT"));
        Assert.AreEqual("upper case 8.3\n", FatTestImage.MTypeText(copy, "EFI/debian/readme moved.txt"));
        Assert.AreEqual("options console=ttyS0 n=8\n", FatTestImage.MTypeText(copy, "loader/debian-6.1.0-9-amd64 entry number 9.conf"));
        Assert.AreEqual("options console=ttyS0 n=59\n", FatTestImage.MTypeText(copy, "loader/debian-6.1.0-59-amd64 entry number 59.conf"));
        string listing = FatTestImage.MDir(copy, "loader");
        StringAssert.Contains(listing, "debian-6.1.0-0-amd64 entry number 0.conf");
        Assert.IsFalse(listing.Contains("entry number 7.conf", StringComparison.Ordinal), listing);
        Assert.IsFalse(listing.Contains("entry number 8.conf", StringComparison.Ordinal), listing);
        string debianListing = FatTestImage.MDir(copy, "EFI/debian");
        Assert.IsFalse(debianListing.Contains("A long file name", StringComparison.Ordinal), debianListing);
        Assert.IsFalse(FatTestImage.MDir(copy, "").Contains("README", StringComparison.Ordinal));

        // A fresh engine over the written image reads what mtools reads, and counts the same free space.
        using var again = FatTestImage.Reopen(image, copy);
        // 60 made, one deleted, one renamed over another.
        Assert.AreEqual(58, again.FileSystem.ListDirectory(Resolve(again.FileSystem, "LOADER")).Count);
        Assert.AreEqual(fs.Space.FreeBytes, again.FileSystem.Space.FreeBytes);
        AssertFatCopiesEqual(copy, fs.Boot);
    }

    [TestMethod]
    public void Write_Fat32FsInfoFreeCount_FollowsEveryWrite()
    {
        using var image = FatTestImage.Create("fat32-fsinfo", 32, 64 * 1024, mkfsOptions: ["-s", "1"]);
        var fs = image.FileSystem;
        var blob = new byte[100_000];
        new Random(3).NextBytes(blob);
        fs.CreateFile(fs.RootNode, "blob.bin", blob, 0x1A4, 0, 0);
        string copy = image.AssertCleanAfterChanges();
        var info = new byte[512];
        using (var f = File.OpenRead(copy))
        {
            f.Position = (long)fs.Boot.FsInfoSector * fs.Boot.BytesPerSector;
            f.ReadExactly(info);
        }
        uint stored = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(info.AsSpan(488));
        Assert.AreEqual(fs.Space.FreeBytes / fs.Boot.ClusterSize, stored);
        // minfo and fsck agree with our count: fsck checked it above; mdir prints the free bytes.
        StringAssert.Contains(FatTestImage.MDir(copy, "").Replace(" ", "", StringComparison.Ordinal), $"{fs.Space.FreeBytes}bytesfree");
        CollectionAssert.AreEqual(blob, FatTestImage.MType(copy, "blob.bin"));
    }

    [TestMethod]
    public void Write_ReadOnlyAttributeAndModesFromMountOptions()
    {
        using var image = FatTestImage.Create("fat-modes", 16, 32 * 1024, mountOptions: "umask=0077,uid=5,gid=6");
        var fs = image.FileSystem;
        ulong node = fs.CreateFile(fs.RootNode, "ro.txt", "r"u8, 0x124, 0, 0);
        var st = fs.Stat(node);
        // 0700 from umask=0077, without its write bit: the read-only attribute.
        Assert.AreEqual(0x140, st.Mode & 0xFFF);
        Assert.AreEqual(5, st.Uid);
        Assert.AreEqual(6, st.Gid);
        Assert.AreEqual(0x1C0, fs.Stat(fs.RootNode).Mode & 0xFFF);
        fs.SetMode(node, 0x180);
        Assert.AreEqual(0x1C0, fs.Stat(node).Mode & 0xFFF);
        fs.CreateFile(fs.RootNode, "kept.txt", "k"u8, 0x124, 0, 0);
        string copy = image.AssertCleanAfterChanges();
        // mattrib prints the attribute letters before the name: the read-only bit as mtools reads it,
        // set on the file made without write bits, cleared on the one whose mode gave them back.
        StringAssert.Matches(ExternalTool.RunChecked("mattrib", "-i", copy, "::/kept.txt").StdOut, new System.Text.RegularExpressions.Regex(@"^\s*A?\s+R\s+::/kept\.txt"));
        StringAssert.Matches(ExternalTool.RunChecked("mattrib", "-i", copy, "::/RO.TXT").StdOut, new System.Text.RegularExpressions.Regex(@"^\s*A?\s+::/RO\.TXT"));
        Assert.AreEqual("r", FatTestImage.MTypeText(copy, "RO.TXT"));
        Assert.ThrowsExactly<Azure.LinuxImage.Engine.Diagnostics.LinuxImageException>(() => fs.CreateSymlink(fs.RootNode, "l", "/x", 0, 0));
        Assert.ThrowsExactly<Azure.LinuxImage.Engine.Diagnostics.LinuxImageException>(() => fs.CreateFile(fs.RootNode, "a:b", "x"u8, 0x1A4, 0, 0));
        Assert.ThrowsExactly<IOException>(() => fs.CreateFile(fs.RootNode, "RO.TXT", "x"u8, 0x1A4, 0, 0));
    }

    [TestMethod]
    public void Write_Fat16RootFull_IsNoSpaceError()
    {
        using var image = FatTestImage.Create("fat-rootfull", 16, 32 * 1024, files: new Dictionary<string, byte[]>(), mkfsOptions: ["-r", "16"]);
        var fs = image.FileSystem;
        int made = 0;
        var e = Assert.ThrowsExactly<Azure.LinuxImage.Engine.Diagnostics.LinuxImageException>(() =>
        {
            // mkfs.vfat rounds the root directory up to whole clusters; FAT16's default is 512 entries.
            for (int i = 0; i < 2000; i++, made++)
            {
                fs.CreateFile(fs.RootNode, $"F{i}.TXT", "x"u8, 0x1A4, 0, 0);
            }
        });
        Assert.AreEqual("LIMG0361", e.Descriptor.Code);
        Assert.IsTrue(made < 512, $"{made} names fit a root directory of 16 entries");
        Assert.AreEqual(made, fs.ListDirectory(fs.RootNode).Count);
        string copy = image.AssertCleanAfterChanges();
        Assert.AreEqual("x", FatTestImage.MTypeText(copy, $"F{made - 1}.TXT"));
    }

    internal static void AssertFatCopiesEqual(string imagePath, FatBootSector boot)
    {
        var bytes = File.ReadAllBytes(imagePath);
        var first = bytes.AsSpan((int)boot.FatOffset, (int)boot.FatBytes);
        for (int copy = 1; copy < boot.FatCount; copy++)
        {
            Assert.IsTrue(first.SequenceEqual(bytes.AsSpan((int)(boot.FatOffset + (copy * boot.FatBytes)), (int)boot.FatBytes)), $"FAT copy {copy + 1} differs");
        }
    }

    internal static FatFileSystem OpenFile(string path, out RawDiskImage disk)
    {
        disk = new RawDiskImage(SourceFile.Open(path));
        try
        {
            return FatFileSystem.Open(new DiskOverlay(disk), path);
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }
}
