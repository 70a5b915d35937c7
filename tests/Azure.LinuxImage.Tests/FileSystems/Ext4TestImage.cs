using Azure.LinuxImage.Engine.Disks.Raw;
using Azure.LinuxImage.Engine.FileSystems.Ext4;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// An ext2/3/4 image built by the real mke2fs from a directory, opened through an overlay, and
/// judged by the real e2fsck and debugfs after the engine has written into it.
/// </summary>
internal sealed class Ext4TestImage : IDisposable
{
    private readonly RawDiskImage disk;

    private Ext4TestImage(TempDir temp, string path)
    {
        Temp = temp;
        ImagePath = path;
        disk = new RawDiskImage(SourceFile.Open(path));
        Overlay = new DiskOverlay(disk);
        try
        {
            FileSystem = Ext4FileSystem.Open(Overlay, path);
        }
        catch
        {
            disk.Dispose();
            throw;
        }
        FileSystem.Clock = () => new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    }

    public TempDir Temp { get; }

    public string ImagePath { get; }

    public DiskOverlay Overlay { get; }

    public Ext4FileSystem FileSystem { get; }

    /// <summary>A standard tree: /etc with a few files, a symlink, a deep directory, a sized binary.</summary>
    public static void PopulateDefault(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "etc", "ssh"));
        Directory.CreateDirectory(Path.Combine(root, "boot", "grub"));
        Directory.CreateDirectory(Path.Combine(root, "var", "lib", "empty"));
        File.WriteAllText(Path.Combine(root, "etc", "fstab"), "UUID=1234 / ext4 defaults 0 1\n");
        File.WriteAllText(Path.Combine(root, "etc", "os-release"), "ID=debian\nVERSION_ID=\"12\"\n");
        File.WriteAllText(Path.Combine(root, "etc", "ssh", "sshd_config"), "PermitRootLogin no\n");
        File.WriteAllText(Path.Combine(root, "boot", "grub", "grub.cfg"), "linux /vmlinuz root=UUID=1234 quiet\n");
        var big = new byte[300_000];
        new Random(7).NextBytes(big);
        File.WriteAllBytes(Path.Combine(root, "boot", "initrd.img"), big);
        File.CreateSymbolicLink(Path.Combine(root, "etc", "localtime"), "/usr/share/zoneinfo/Etc/UTC");
        File.CreateSymbolicLink(Path.Combine(root, "etc", "longlink"), "/" + new string('x', 100) + "/target");
    }

    /// <summary>A second view of the same image file, sharing nothing with the first (the owner keeps the folder).</summary>
    public static Ext4TestImage Reopen(Ext4TestImage other) => new(other.Temp, other.ImagePath) { ownsTemp = false };

    private bool ownsTemp = true;

    public static Ext4TestImage Create(string name, int sizeMiB, string[] mkfsOptions, Action<string>? populate = null)
    {
        var temp = new TempDir(name);
        string tree = temp["tree"];
        Directory.CreateDirectory(tree);
        try
        {
            (populate ?? PopulateDefault)(tree);
        }
        catch
        {
            temp.Dispose();
            throw;
        }
        string image = temp["fs.img"];
        var args = new List<string> { "-q", "-F", "-E", "root_owner=0:0", "-d", tree };
        args.AddRange(mkfsOptions);
        args.Add(image);
        args.Add($"{sizeMiB}M");
        try
        {
            ExternalTool.RunChecked("mke2fs", [.. args]);
            return new Ext4TestImage(temp, image);
        }
        catch
        {
            temp.Dispose();
            throw;
        }
    }

    /// <summary>Writes the overlay's changes into a copy of the image (as the build does to its output) and returns the copy's path.</summary>
    public string ApplyToCopy() => OverlayCopy.Write(Overlay, ImagePath, Temp);

    /// <summary>Applies the changes and asserts e2fsck -fn finds nothing; returns the checked copy.</summary>
    public string AssertCleanAfterChanges()
    {
        string copy = ApplyToCopy();
        AssertClean(copy);
        return copy;
    }

    public static void AssertClean(string image)
    {
        var r = ExternalTool.Run("e2fsck", ["-fn", image]);
        Assert.AreEqual(0, r.ExitCode, $"e2fsck -fn reported problems:\n{r.All}");
    }

    public static string Debugfs(string image, string request)
    {
        var r = ExternalTool.Run("debugfs", ["-R", request, image]);
        Assert.AreEqual(0, r.ExitCode, r.All);
        return r.StdOut;
    }

    public static byte[] DebugfsCat(string image, string path)
    {
        string outFile = image + ".dump";
        File.Delete(outFile);
        ExternalTool.RunChecked("debugfs", "-R", $"dump {path} {outFile}", image);
        Assert.IsTrue(File.Exists(outFile), $"debugfs could not dump {path}");
        byte[] bytes = File.ReadAllBytes(outFile);
        // debugfs 1.47 dumps an inline-data file as its whole inline area; cut it to the inode's size.
        var size = System.Text.RegularExpressions.Regex.Match(Debugfs(image, $"stat {path}"), @"\bSize: (\d+)");
        if (size.Success && long.Parse(size.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) is long n && n < bytes.Length)
        {
            bytes = bytes[..(int)n];
        }
        return bytes;
    }

    public void Dispose()
    {
        disk.Dispose();
        if (ownsTemp)
        {
            Temp.Dispose();
        }
    }
}
