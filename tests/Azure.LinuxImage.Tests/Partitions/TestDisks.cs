using System.Text.Json;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Partitions;

/// <summary>Builds small partitioned disks with the real tools (sfdisk, mke2fs, mkswap) and places file systems in them.</summary>
internal static class TestDisks
{
    public const string BootUuid = "11111111-2222-3333-4444-555555555555";
    public const string RootUuid = "66666666-7777-8888-9999-aaaaaaaaaaaa";

    /// <summary>Partitions <paramref name="disk"/> with an sfdisk script and returns each partition's (number → byte offset, byte size).</summary>
    public static Dictionary<int, (long Offset, long Size)> Partition(string disk, int sizeMiB, string sfdiskScript)
    {
        using (var f = new FileStream(disk, FileMode.Create))
        {
            f.SetLength(sizeMiB * 1024L * 1024);
        }
        var r = ExternalTool.Run("sfdisk", ["--no-reread", "--no-tell-kernel", disk], stdin: sfdiskScript);
        Assert.AreEqual(0, r.ExitCode, r.All);
        var json = ExternalTool.RunChecked("sfdisk", "-J", disk).StdOut;
        using var doc = JsonDocument.Parse(json);
        var result = new Dictionary<int, (long, long)>();
        foreach (var p in doc.RootElement.GetProperty("partitiontable").GetProperty("partitions").EnumerateArray())
        {
            string node = p.GetProperty("node").GetString()!;
            int number = int.Parse(node[disk.Length..], System.Globalization.CultureInfo.InvariantCulture);
            result[number] = (p.GetProperty("start").GetInt64() * 512, p.GetProperty("size").GetInt64() * 512);
        }
        return result;
    }

    public static string MakeExt4(TempDir temp, string name, long sizeBytes, string uuid, Action<string> populate, params string[] extra)
    {
        string tree = temp[name + "-tree"];
        Directory.CreateDirectory(tree);
        populate(tree);
        string image = temp[name + ".img"];
        var args = new List<string> { "-q", "-F", "-t", "ext4", "-U", uuid, "-L", name, "-E", "root_owner=0:0", "-d", tree };
        args.AddRange(extra);
        args.Add(image);
        args.Add($"{sizeBytes / 1024}k");
        ExternalTool.RunChecked("mke2fs", [.. args]);
        return image;
    }

    public static string MakeSwap(TempDir temp, long sizeBytes)
    {
        string image = temp["swap.img"];
        using (var f = new FileStream(image, FileMode.Create))
        {
            f.SetLength(sizeBytes);
        }
        ExternalTool.RunChecked("mkswap", image);
        return image;
    }

    public static void Place(string disk, string image, long offset)
    {
        using var d = new FileStream(disk, FileMode.Open, FileAccess.Write);
        using var s = File.OpenRead(image);
        d.Position = offset;
        s.CopyTo(d);
    }

    public static void PopulateRoot(string root, string fstab)
    {
        FileSystems.Ext4TestImage.PopulateDefault(root);
        File.WriteAllText(Path.Combine(root, "etc", "fstab"), fstab);
        Directory.Delete(Path.Combine(root, "boot", "grub"), recursive: true);
        File.Delete(Path.Combine(root, "boot", "initrd.img"));
    }

    public static void PopulateBoot(string boot)
    {
        Directory.CreateDirectory(Path.Combine(boot, "grub"));
        File.WriteAllText(Path.Combine(boot, "grub", "grub.cfg"), "linux /vmlinuz root=UUID=" + RootUuid + " rhgb quiet\n");
        File.WriteAllText(Path.Combine(boot, "vmlinuz-6.1.0-13-amd64"), "kernel");
        File.CreateSymbolicLink(Path.Combine(boot, "vmlinuz"), "vmlinuz-6.1.0-13-amd64");
    }

    /// <summary>Copies a volume's bytes out of the engine (e.g. a partition of an overlay) into a file for e2fsck.</summary>
    public static string Extract(TempDir temp, Azure.LinuxImage.Engine.IO.IReadableVolume volume, string name)
    {
        string path = temp[name];
        using var f = new FileStream(path, FileMode.Create);
        var buffer = new byte[1 << 20];
        for (long at = 0; at < volume.Length; at += buffer.Length)
        {
            int n = (int)Math.Min(buffer.Length, volume.Length - at);
            volume.ReadAt(at, buffer.AsSpan(0, n));
            f.Write(buffer, 0, n);
        }
        return path;
    }
}
