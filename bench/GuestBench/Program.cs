using System.Diagnostics;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.IO;

// The patch step's file-system work on a real guest, timed inside the engine (no MSBuild, no
// process start): assemble the guest's mounts from its fstab, read every file under /etc and /boot,
// then change three files (fstab, /etc/default/grub, /etc/hostname grown by a line) in a
// copy-on-write overlay, as the patch step does. Repeated: the first round pays for JIT.
if (args.Length is < 1 or > 2)
{
    Console.Error.WriteLine("usage: GuestBench <disk image> [rounds]");
    return 2;
}
int rounds = args.Length > 1 ? int.Parse(args[1]) : 5;
using var disk = DiskImageOpener.Open(args[0]);
var totals = new List<double>();
for (int round = 1; round <= rounds; round++)
{
    var clock = Stopwatch.StartNew();
    var overlay = new DiskOverlay(disk);
    var guest = GuestMounts.Open(overlay, args[0]);
    double open = clock.Elapsed.TotalMilliseconds;
    long files = 0, bytes = 0;
    foreach (string top in new[] { "/etc", "/boot" })
    {
        Read(guest, top, 0, ref files, ref bytes);
    }
    double read = clock.Elapsed.TotalMilliseconds - open;
    foreach (string path in new[] { "/etc/fstab", "/etc/default/grub", "/etc/hostname" })
    {
        if (guest.Stat(path) is null)
        {
            Console.Error.WriteLine($"{path} is missing from the guest");
            return 1;
        }
        var content = guest.ReadFile(path).Concat("# changed by GuestBench\n"u8.ToArray()).ToArray();
        guest.WriteFile(path, content);
    }
    double write = clock.Elapsed.TotalMilliseconds - open - read;
    totals.Add(clock.Elapsed.TotalMilliseconds);
    Console.WriteLine($"round {round}: {guest.Root.FileSystem.TypeName} root, {guest.Mounts.Count} mounts; open {open:F0} ms, read {files} files ({bytes / 1048576.0:F1} MiB) under /etc and /boot {read:F0} ms, 3 files written {write:F0} ms; total {clock.Elapsed.TotalMilliseconds:F0} ms");
}
var sorted = totals.Order().ToList();
Console.WriteLine($"engine time: first round {totals[0]:F0} ms, median of {rounds} rounds {sorted[sorted.Count / 2]:F0} ms");
return 0;

static void Read(GuestMounts guest, string directory, int depth, ref long files, ref long bytes)
{
    if (depth > 32)
    {
        return;
    }
    foreach (var entry in guest.ListDirectory(directory))
    {
        // Entries are lstat'ed: a link is not followed, so the walk stays inside /etc and /boot.
        if (entry.Kind == GuestFileKind.Directory)
        {
            Read(guest, entry.Path, depth + 1, ref files, ref bytes);
        }
        else if (entry.Kind == GuestFileKind.File)
        {
            bytes += guest.ReadFile(entry.Path).Length;
            files++;
        }
    }
}
