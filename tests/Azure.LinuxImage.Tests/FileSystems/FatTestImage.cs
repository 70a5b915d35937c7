using Azure.LinuxImage.Engine.Disks.Raw;
using Azure.LinuxImage.Engine.FileSystems.Fat;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// A FAT image made by the real mkfs.vfat and filled by mtools (mmd, mcopy), opened through an
/// overlay; after the engine writes, the changes go into a copy judged by fsck.vfat -n and read back
/// with mtools (mdir, mtype). The kernel of the test machines has no vfat driver, so no loop mount.
/// </summary>
internal sealed class FatTestImage : IDisposable
{
    public const uint Serial = 0xABCD1234;

    private readonly RawDiskImage disk;

    private FatTestImage(TempDir temp, string path, string options)
    {
        Temp = temp;
        ImagePath = path;
        disk = new RawDiskImage(SourceFile.Open(path));
        Overlay = new DiskOverlay(disk);
        try
        {
            FileSystem = FatFileSystem.Open(Overlay, path, options);
        }
        catch
        {
            disk.Dispose();
            throw;
        }
        FileSystem.Clock = () => new DateTimeOffset(2026, 1, 2, 3, 4, 6, TimeSpan.Zero);
    }

    public TempDir Temp { get; }

    public string ImagePath { get; }

    public DiskOverlay Overlay { get; }

    public FatFileSystem FileSystem { get; }

    /// <summary>An ESP-like tree: EFI/BOOT/BOOTX64.EFI, EFI/debian with a long-named file, a multi-cluster file.</summary>
    public static Dictionary<string, byte[]> DefaultFiles()
    {
        var big = new byte[70_000];
        new Random(11).NextBytes(big);
        var loader = new byte[9000];
        new Random(12).NextBytes(loader);
        return new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            ["EFI/BOOT/BOOTX64.EFI"] = loader,
            ["EFI/debian/grub.cfg"] = "search.fs_uuid 1234 root\nset prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n"u8.ToArray(),
            ["EFI/debian/grubx64.efi"] = big,
            ["EFI/debian/A long file name with spaces.txt"] = "long name\n"u8.ToArray(),
            ["README.TXT"] = "upper case 8.3\n"u8.ToArray(),
        };
    }

    /// <summary>An FAT image with the default ESP-like files (or <paramref name="files"/>), opened through an overlay.</summary>
    public static FatTestImage Create(string name, int fatBits, int sizeKiB, IReadOnlyDictionary<string, byte[]>? files = null, string[]? mkfsOptions = null, string mountOptions = "")
    {
        var temp = new TempDir(name);
        try
        {
            string image = temp["esp.img"];
            Make(temp, image, fatBits, sizeKiB, files ?? DefaultFiles(), ["-i", Serial.ToString("X8", System.Globalization.CultureInfo.InvariantCulture), "-n", "ESPTEST", .. mkfsOptions ?? []]);
            return new FatTestImage(temp, image, mountOptions);
        }
        catch
        {
            temp.Dispose();
            throw;
        }
    }

    /// <summary>mkfs.vfat -F <paramref name="fatBits"/> into <paramref name="image"/>, then every file copied in by mcopy (directories by mmd).</summary>
    public static void Make(TempDir temp, string image, int fatBits, int sizeKiB, IReadOnlyDictionary<string, byte[]> files, params string[] mkfsOptions)
    {
        ExternalTool.RunChecked("mkfs.vfat", ["-C", "-F", fatBits.ToString(System.Globalization.CultureInfo.InvariantCulture), .. mkfsOptions, image, sizeKiB.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        var made = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (path, content) in files)
        {
            string[] parts = path.Split('/');
            for (int i = 1; i < parts.Length; i++)
            {
                string dir = string.Join('/', parts[..i]);
                if (made.Add(dir))
                {
                    ExternalTool.RunChecked("mmd", "-i", image, "::/" + dir);
                }
            }
            string local = temp[$"src-{Guid.NewGuid():N}"];
            File.WriteAllBytes(local, content);
            ExternalTool.RunChecked("mcopy", "-i", image, local, "::/" + path);
        }
    }

    public static FatTestImage Reopen(FatTestImage other, string path) => new(other.Temp, path, string.Empty) { ownsTemp = false };

    private bool ownsTemp = true;

    public string ApplyToCopy() => OverlayCopy.Write(Overlay, ImagePath, Temp);

    /// <summary>Applies the changes, asserts fsck.vfat -n finds nothing and the FAT copies are equal; returns the copy.</summary>
    public string AssertCleanAfterChanges()
    {
        string copy = ApplyToCopy();
        AssertClean(copy);
        return copy;
    }

    public static void AssertClean(string image)
    {
        var r = ExternalTool.Run("fsck.vfat", ["-n", "-V", image]);
        Assert.AreEqual(0, r.ExitCode, $"fsck.vfat -n reported problems:\n{r.All}");
        foreach (string bad in new[] { "differ", "Free cluster summary", "wrong", "Orphan", "lost", "Correct", "invalid" })
        {
            Assert.IsFalse(r.All.Contains(bad, StringComparison.OrdinalIgnoreCase), $"fsck.vfat -n says '{bad}':\n{r.All}");
        }
    }

    /// <summary>The file's bytes as mtools reads them.</summary>
    public static byte[] MType(string image, string path)
    {
        string outFile = image + ".mtype";
        File.Delete(outFile);
        // mcopy to a local file keeps binary content intact (mtype may translate text).
        ExternalTool.RunChecked("mcopy", "-n", "-i", image, "::/" + path, outFile);
        return File.ReadAllBytes(outFile);
    }

    public static string MDir(string image, string path) => ExternalTool.RunChecked("mdir", "-i", image, "-a", "::/" + path).StdOut;

    public static string MTypeText(string image, string path) => ExternalTool.RunChecked("mtype", "-i", image, "::/" + path).StdOut;

    public void Dispose()
    {
        disk.Dispose();
        if (ownsTemp)
        {
            Temp.Dispose();
        }
    }
}
