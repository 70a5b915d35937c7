using System.Diagnostics;
using Azure.LinuxImage.Engine.Disks;

// Reads every allocated extent of a disk through our reader in 4 MiB reads (what conversion does),
// without writing anything, and prints the throughput: the reader's cost alone.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: ReadBench <disk image>");
    return 2;
}
var clock = Stopwatch.StartNew();
using var disk = DiskImageOpener.Open(args[0]);
var buffer = new byte[4 * 1024 * 1024];
long total = 0;
foreach (var extent in disk.GetAllocatedExtents())
{
    for (long at = extent.Offset; at < extent.End; at += buffer.Length)
    {
        int n = (int)Math.Min(buffer.Length, extent.End - at);
        disk.ReadAt(at, buffer.AsSpan(0, n));
        total += n;
    }
}
Console.WriteLine($"{disk.Format}: {total / 1048576} MiB of {disk.Length / 1048576} MiB read in {clock.Elapsed.TotalSeconds:F2} s ({total / 1048576.0 / clock.Elapsed.TotalSeconds:F0} MiB/s)");
return 0;
