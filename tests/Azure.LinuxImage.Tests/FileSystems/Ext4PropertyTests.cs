using System.Text;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// Property-style: seeded random sequences of create / replace / delete / rename / mkdir / symlink
/// through <see cref="IGuestFileSystem"/> against an in-memory model; afterwards e2fsck -fn must be
/// clean and debugfs must show exactly the model (every directory's names and modes, every file's bytes).
/// </summary>
[TestClass]
public sealed class Ext4PropertyTests
{
    private sealed record Entry(GuestFileKind Kind, byte[]? Content, string? Target, int Mode);

    [TestMethod]
    [DataRow(1, "-t", "ext4")]
    [DataRow(2, "-t", "ext4", "-b", "1024")]
    [DataRow(3, "-t", "ext2")]
    [DataRow(4, "-t", "ext4", "-O", "^metadata_csum,^64bit")]
    [DataRow(5, "-t", "ext3", "-b", "2048")]
    [DataRow(6, "-t", "ext4", "-O", "inline_data,metadata_csum_seed", "-I", "512")]
    public void Random_operation_sequences_match_the_model_and_e2fsck(int seed, params string[] options)
    {
        using var img = Ext4TestImage.Create($"prop{seed}", 32, options);
        var guest = GuestMounts.Open(img.Overlay, img.ImagePath);
        guest.Clock = () => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var model = new SortedDictionary<string, Entry>(StringComparer.Ordinal);
        Snapshot(guest, "/", model);
        var random = new Random(seed);
        string[] names = ["a", "b", "conf", "waagent.conf", "x.d", "long-name-" + new string('n', 60), "z"];
        for (int step = 0; step < 200; step++)
        {
            var dirs = model.Where(e => e.Value.Kind == GuestFileKind.Directory).Select(e => e.Key).Prepend("/").ToList();
            var files = model.Where(e => e.Value.Kind == GuestFileKind.File).Select(e => e.Key).ToList();
            var removable = model.Where(e => e.Value.Kind != GuestFileKind.Directory || !model.Keys.Any(k => k.StartsWith(e.Key + "/", StringComparison.Ordinal))).Select(e => e.Key).Where(k => k != "/lost+found").ToList();
            string dir = dirs[random.Next(dirs.Count)];
            string path = (dir == "/" ? "" : dir) + "/" + names[random.Next(names.Length)];
            switch (random.Next(6))
            {
                case 0 when !model.ContainsKey(path):
                case 1 when files.Count == 0:
                    {
                        byte[] content = RandomContent(random);
                        int mode = random.Next(2) == 0 ? 0x1A4 : 0x180;
                        guest.WriteFile(path, content, mode);
                        model[path] = new Entry(GuestFileKind.File, content, null, mode);
                        break;
                    }
                case 1:
                    {
                        string target = files[random.Next(files.Count)];
                        byte[] content = RandomContent(random);
                        guest.WriteFile(target, content);
                        model[target] = model[target] with { Content = content };
                        break;
                    }
                case 2 when removable.Count > 0:
                    {
                        string victim = removable[random.Next(removable.Count)];
                        guest.Delete(victim);
                        model.Remove(victim);
                        break;
                    }
                case 3 when files.Count > 0 && (!model.TryGetValue(path, out var existing) || existing.Kind == GuestFileKind.File):
                    {
                        string from = files[random.Next(files.Count)];
                        guest.Rename(from, path);
                        var moved = model[from];
                        model.Remove(from);
                        model[path] = moved;
                        break;
                    }
                case 4 when !model.ContainsKey(path):
                    guest.CreateDirectory(path, 0x1ED);
                    model[path] = new Entry(GuestFileKind.Directory, null, null, 0x1ED);
                    break;
                case 5 when !model.ContainsKey(path):
                    {
                        string target = random.Next(2) == 0 ? "/etc/fstab" : new string('t', random.Next(1, 300));
                        guest.CreateSymlink(path, target);
                        model[path] = new Entry(GuestFileKind.Symlink, null, target, 0x1FF);
                        break;
                    }
                default:
                    break;
            }
        }

        // Our own reader agrees with the model...
        var seen = new SortedDictionary<string, Entry>(StringComparer.Ordinal);
        Snapshot(guest, "/", seen);
        CollectionAssert.AreEquivalent(model.Keys.ToList(), seen.Keys.ToList());

        // ...and so do e2fsck and debugfs on the image the build would produce.
        string copy = img.AssertCleanAfterChanges();
        var commands = new StringBuilder();
        var dumps = new Dictionary<string, string>();
        foreach (var (p, e) in model)
        {
            if (e.Kind == GuestFileKind.File)
            {
                string outFile = img.Temp[$"dump-{dumps.Count}"];
                dumps[p] = outFile;
                commands.Append(System.Globalization.CultureInfo.InvariantCulture, $"dump \"{p}\" {outFile}\n");
            }
        }
        foreach (string d in model.Where(e => e.Value.Kind == GuestFileKind.Directory).Select(e => e.Key).Prepend("/"))
        {
            commands.Append(System.Globalization.CultureInfo.InvariantCulture, $"ls -p \"{d}\"\n");
        }
        string cmdFile = img.Temp["commands"];
        File.WriteAllText(cmdFile, commands.ToString());
        string listing = ExternalTool.RunChecked("debugfs", "-f", cmdFile, copy).StdOut;
        foreach (var (p, outFile) in dumps)
        {
            CollectionAssert.AreEqual(model[p].Content, File.ReadAllBytes(outFile), p);
        }
        // ls -p lines: /inode/mode/uid/gid/name/size/, after a "debugfs: ls -p "DIR"" echo line.
        var listed = new Dictionary<string, int>(StringComparer.Ordinal);
        string current = "/";
        foreach (string line in listing.Split('\n'))
        {
            if (line.StartsWith("debugfs: ls -p \"", StringComparison.Ordinal))
            {
                current = line["debugfs: ls -p \"".Length..].TrimEnd('"');
                continue;
            }
            string[] f = line.Split('/');
            if (!line.StartsWith('/') || f.Length < 7 || f[5] is "" or "." or "..")
            {
                continue;
            }
            listed[(current == "/" ? "" : current) + "/" + f[5]] = Convert.ToInt32(f[2], 8) & 0xFFF;
        }
        CollectionAssert.AreEquivalent(model.Keys.ToList(), listed.Keys.ToList(), "debugfs lists other entries than the model: " + string.Join(", ", listed.Keys.Except(model.Keys)) + " / " + string.Join(", ", model.Keys.Except(listed.Keys)));
        foreach (var (p, e) in model)
        {
            Assert.AreEqual(e.Mode, listed[p], $"mode of {p}");
        }
    }

    private static byte[] RandomContent(Random random)
    {
        int size = random.Next(4) switch
        {
            0 => random.Next(0, 100),
            1 => random.Next(100, 5000),
            2 => random.Next(5000, 70_000),
            _ => random.Next(70_000, 400_000),
        };
        var bytes = new byte[size];
        random.NextBytes(bytes);
        return bytes;
    }

    private static void Snapshot(IGuestFileSystem guest, string dir, SortedDictionary<string, Entry> into)
    {
        foreach (var e in guest.ListDirectory(dir))
        {
            into[e.Path] = new Entry(e.Kind, e.Kind == GuestFileKind.File ? guest.ReadFile(e.Path) : null, e.LinkTarget, e.Mode);
            if (e.Kind == GuestFileKind.Directory)
            {
                Snapshot(guest, e.Path, into);
            }
        }
    }
}
