using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.FileSystems.Btrfs;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// btrfs writes, copy-on-write: after each change the overlay's bytes go into a copy of the image,
/// and 'btrfs check --readonly --check-data-csum' must find nothing, the kernel (read-only loop
/// mount) must show exactly what the engine meant to write, and the engine must read it back.
/// </summary>
[TestClass]
public sealed class BtrfsWriteTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [TestMethod]
    [DataRow("")]
    [DataRow("--csum xxhash")]
    [DataRow("--csum sha256 --nodesize 4096 -m single")]
    [DataRow("--nodesize 65536")]
    [DataRow("-m dup -d dup")]
    [DataRow("-O ^no-holes -R ^free-space-tree")]
    public void Contents_replaced_grown_shrunk_and_emptied_pass_btrfs_check_and_read_back_through_the_kernel(string mkfs)
    {
        using var temp = new TempDir("btrfs-replace");
        string image = BtrfsTestImage.Create(temp, 256, mkfs.Length == 0 ? [] : mkfs.Split(' '));
        using var volume = FileVolume.OpenRead(image);
        var overlay = new DiskOverlay(volume);
        var fs = BtrfsFileSystem.Open(overlay, image);
        fs.Clock = () => Now;
        Assert.IsNull(fs.WriteRefusal);
        var fstab = "UUID=abcd / btrfs defaults 0 0\n"u8.ToArray();
        var grown = BtrfsTestImage.Filled(700_000, 11);
        var regularToInline = "small now\n"u8.ToArray();
        var inlineToRegular = BtrfsTestImage.Filled(9000, 12);
        fs.ReplaceContent(Resolve(fs, "/etc/fstab"), fstab);                       // inline → inline, xattrs kept
        fs.ReplaceContent(Resolve(fs, "/boot/initrd"), grown);                     // regular grows
        fs.ReplaceContent(Resolve(fs, "/etc/regular-5000"), regularToInline);      // regular → inline
        fs.ReplaceContent(Resolve(fs, "/etc/inline-2048"), inlineToRegular);       // inline → regular
        fs.ReplaceContent(Resolve(fs, "/etc/os-release"), []);                     // emptied
        fs.ReplaceContent(Resolve(fs, "/var/sparse"), "no longer sparse\n"u8);    // holes go
        fs.SetMode(Resolve(fs, "/etc/ssh/sshd_config"), 0x1A4);
        var expected = new Dictionary<string, byte[]>
        {
            ["/etc/fstab"] = fstab,
            ["/boot/initrd"] = grown,
            ["/etc/regular-5000"] = regularToInline,
            ["/etc/inline-2048"] = inlineToRegular,
            ["/etc/os-release"] = [],
            ["/var/sparse"] = "no longer sparse\n"u8.ToArray(),
        };
        foreach (var (path, content) in expected)
        {
            CollectionAssert.AreEqual(content, fs.ReadFile(Resolve(fs, path)), path);
        }

        string written = OverlayCopy.Write(overlay, image, temp);
        Check(written);
        var kernel = BtrfsTestImage.KernelView(written, string.Empty, temp);
        foreach (var (path, content) in expected)
        {
            Assert.AreEqual(BtrfsTestImage.Digest(content), kernel[path].Content, path);
        }
        Assert.AreEqual(0x1A4, kernel["/etc/ssh/sshd_config"].Permissions);
        StringAssert.Contains(kernel["/etc/fstab"].Xattrs, "security.selinux=");
        BtrfsTestImage.AssertSameAsKernel(written, string.Empty, temp, minimumEntries: 400);
    }

    /// <summary>btrfs check --readonly, with data checksums verified: exit code 0 and no error line.</summary>
    public static void Check(string image)
    {
        var r = ExternalTool.Run("btrfs", ["check", "--readonly", "--check-data-csum", image]);
        Assert.AreEqual(0, r.ExitCode, r.All);
        StringAssert.Contains(r.All, "no error found");
        var complaints = r.All.Split('\n').Where(l => (l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.Contains("mismatch", StringComparison.Ordinal) || l.Contains("wanted", StringComparison.Ordinal))
            && !l.Contains("no error found", StringComparison.Ordinal)).ToList();
        Assert.IsEmpty(complaints, r.All);
    }

    public static ulong Resolve(IFileSystem fs, string path)
    {
        ulong node = fs.RootNode;
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            node = fs.Lookup(node, part) ?? throw new FileNotFoundException(path);
        }
        return node;
    }
}
