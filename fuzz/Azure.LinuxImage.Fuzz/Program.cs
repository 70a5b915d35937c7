using System.Diagnostics;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Engine.Disks.Qcow2;
using Azure.LinuxImage.Engine.Disks.Vdi;
using Azure.LinuxImage.Engine.Disks.Vhdx;
using Azure.LinuxImage.Engine.Disks.Raw;
using Azure.LinuxImage.Engine.Disks.Vmdk;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.FileSystems.Fat;
using Azure.LinuxImage.Engine.IO;
using SharpFuzz;

namespace Azure.LinuxImage.Fuzz;

/// <summary>
/// Fuzz targets for the source-format readers, the btrfs and XFS readers and the FAT file system (read, then
/// written through an overlay). The only acceptable failure is a
/// LinuxImageException; anything else escaping a reader is a bug.
///   afl &lt;target&gt;                              run under afl-fuzz (after sharpfuzz instrumentation)
///   mutate &lt;target|all&gt; &lt;seeds&gt; &lt;count&gt; [rng]  in-process random mutation of seed files
///   logseed &lt;in.vhdx&gt; &lt;out.vhdx&gt;                a VHDX seed with a log to replay
///   replay &lt;target&gt; &lt;file&gt;...                  runs inputs once (e.g. AFL's crashes) and prints the outcome
/// </summary>
public static class Program
{
    // Factories, not instances: under AFL no instrumented engine code may run before SharpFuzz has
    // set up the shared coverage map, and a static constructor would run it first.
    private static readonly Dictionary<string, Func<string, string>> Targets = new(StringComparer.OrdinalIgnoreCase)
    {
        ["qcow2"] = path => Exercise(new Qcow2Reader(), path),
        ["vhdx"] = path => Exercise(new VhdxReader(), path),
        ["vmdk"] = path => Exercise(new VmdkReader(), path),
        ["vdi"] = path => Exercise(new VdiReader(), path),
        ["btrfs"] = BtrfsTarget.Exercise,
        ["xfs"] = XfsTarget.Exercise,
        ["fat"] = ExerciseFat,
    };

    public static int Main(string[] args)
    {
        if (args.Length >= 2 && args[0] == "afl" && Targets.TryGetValue(args[1], out var exercise))
        {
            string work = Path.Combine(Path.GetTempPath(), "limg-fuzz-" + Environment.ProcessId);
            Directory.CreateDirectory(work);
            string input = Path.Combine(work, "input." + args[1]);
            Fuzzer.OutOfProcess.Run(stream =>
            {
                using (var file = File.Create(input))
                {
                    stream.CopyTo(file);
                }
                try
                {
                    exercise(input);
                }
                catch (LinuxImageException)
                {
                }
            });
            return 0;
        }
        if (args.Length >= 3 && args[0] == "replay" && Targets.TryGetValue(args[1], out var replay))
        {
            int bugs = 0;
            foreach (string input in args.Skip(2))
            {
                try
                {
                    Console.WriteLine($"{input}: {replay(input)}");
                }
                catch (LinuxImageException e)
                {
                    Console.WriteLine($"{input}: {e.Descriptor.Code} {e.Message}");
                }
                catch (Exception e)
                {
                    bugs++;
                    Console.WriteLine($"{input}: BUG {e}");
                }
            }
            return bugs == 0 ? 0 : 1;
        }
        if (args.Length == 3 && args[0] == "logseed")
        {
            return LogSeed.Make(args[1], args[2]);
        }
        if (args.Length >= 4 && args[0] == "mutate")
        {
            return Mutate(args[1], args[2], long.Parse(args[3]), args.Length > 4 ? int.Parse(args[4]) : 1);
        }
        Console.Error.WriteLine("usage: afl <qcow2|vhdx|vmdk|vdi|btrfs|xfs|fat> | mutate <target|all> <seed-dir> <count> [rng-seed] | logseed <in.vhdx> <out.vhdx>");
        return 2;
    }

    /// <summary>Opens the file with one reader (no probe, so damaged magic still reaches the parser) and reads a bounded sample of it.</summary>
    public static string Exercise(IDiskFormatReader reader, string path)
    {
        var file = SourceFile.Open(path);
        IDiskImage disk;
        try
        {
            disk = reader.Open(file, new DiskOpenContext());
        }
        catch
        {
            file.Dispose();
            throw;
        }
        using (disk)
        {
            var buffer = new byte[256 * 1024];
            long budget = 32L * 1024 * 1024;
            int extents = 0;
            foreach (var extent in disk.GetAllocatedExtents())
            {
                if (extent.Offset < 0 || extent.Length <= 0 || extent.End > disk.Length)
                {
                    throw new InvalidOperationException($"extent {extent} outside the disk of {disk.Length} bytes");
                }
                int n = (int)Math.Min(Math.Min(extent.Length, buffer.Length), budget);
                disk.ReadAt(extent.Offset, buffer.AsSpan(0, n));
                budget -= n;
                if (budget <= 0 || ++extents > 100_000)
                {
                    break;
                }
            }
            foreach (long at in new[] { 0L, disk.Length / 2, disk.Length - 3000 })
            {
                if (at >= 0 && at + 3000 <= disk.Length)
                {
                    disk.ReadAt(at, buffer.AsSpan(0, 3000));
                }
            }
            return string.Join("+", new[] { "read" }.Concat(disk.Warnings.Select(w => w.Descriptor.Code).Distinct()));
        }
    }

    /// <summary>
    /// Opens the file as a FAT volume (no probe), walks the tree (bounded: depth 8, 4,000 nodes), reads
    /// every file, then writes through an overlay: a new file, a grown directory, a replaced file, a
    /// rename and a delete, and reads the result back. Only LIMG errors may escape.
    /// </summary>
    public static string ExerciseFat(string path)
    {
        using var disk = new RawDiskImage(SourceFile.Open(path));
        var overlay = new DiskOverlay(disk);
        var fs = FatFileSystem.Open(overlay, path);
        int nodes = 0;
        ulong? firstFile = null;
        var pending = new Stack<(ulong Node, int Depth)>();
        pending.Push((fs.RootNode, 0));
        while (pending.Count > 0 && nodes < 4000)
        {
            var (dir, depth) = pending.Pop();
            foreach (var e in fs.ListDirectory(dir))
            {
                nodes++;
                fs.Stat(e.Node);
                if (e.Kind == FileSystemNodeKind.Directory && depth < 8)
                {
                    pending.Push((e.Node, depth + 1));
                }
                else if (e.Kind == FileSystemNodeKind.File)
                {
                    fs.ReadFile(e.Node);
                    firstFile ??= e.Node;
                }
            }
        }
        if (fs.WriteRefusal is not null)
        {
            return "read";
        }
        var blob = new byte[5000];
        new Random(1).NextBytes(blob);
        ulong made = fs.CreateFile(fs.RootNode, "fuzz written file.bin", blob, 0x1A4, 0, 0);
        ulong dirNode = fs.CreateDirectory(fs.RootNode, "fuzz dir", 0x1ED, 0, 0);
        for (int i = 0; i < 40; i++)
        {
            fs.CreateFile(dirNode, $"entry number {i} with a long name.txt", "x"u8, 0x1A4, 0, 0);
        }
        if (firstFile is ulong f)
        {
            fs.ReplaceContent(f, blob.AsSpan(0, 1234));
        }
        fs.Rename(fs.RootNode, "fuzz written file.bin", dirNode, "moved.bin");
        fs.Delete(dirNode, "entry number 3 with a long name.txt");
        if (!fs.ReadFile(fs.Lookup(dirNode, "MOVED.BIN") ?? throw new InvalidOperationException("renamed file lost")).AsSpan().SequenceEqual(blob))
        {
            throw new InvalidOperationException("a written file reads back differently");
        }
        _ = made;
        return "read+write";
    }

    private static int Mutate(string target, string seedDir, long count, int rngSeed)
    {
        var seeds = Directory.EnumerateFiles(seedDir).Order(StringComparer.Ordinal)
            .Select(p => (Path: p, Ext: Path.GetExtension(p).TrimStart('.').ToLowerInvariant(), Bytes: File.ReadAllBytes(p)))
            .Where(s => Targets.ContainsKey(s.Ext) && (target == "all" || s.Ext == target))
            .ToList();
        if (seeds.Count == 0)
        {
            Console.Error.WriteLine($"no seeds for '{target}' in {seedDir} (files named *.qcow2, *.vhdx, *.vmdk, *.vdi, *.btrfs, *.xfs, *.fat)");
            return 2;
        }
        string work = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        work = Path.Combine(work, "limg-mutate-" + Environment.ProcessId);
        string findings = Path.Combine(seedDir, "..", "findings");
        Directory.CreateDirectory(work);
        var random = new Random(rngSeed);
        var outcomes = new Dictionary<string, long>();
        long bugs = 0;
        long slowest = 0;
        long mostAllocated = 0;
        var clock = Stopwatch.StartNew();
        for (long i = 0; i < count; i++)
        {
            var seed = seeds[random.Next(seeds.Count)];
            var input = seed.Ext == "btrfs" ? BtrfsTarget.Mutate(seed.Bytes, random) : Mutator.Mutate(seed.Bytes, random);
            string path = Path.Combine(work, "input." + seed.Ext);
            File.WriteAllBytes(path, input);
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var watch = Stopwatch.StartNew();
            string outcome;
            try
            {
                outcome = Targets[seed.Ext](path);
            }
            catch (LinuxImageException e)
            {
                outcome = e.Descriptor.Code;
            }
            catch (Exception e)
            {
                outcome = "BUG " + e.GetType().Name;
                bugs++;
                Directory.CreateDirectory(findings);
                string saved = Path.Combine(findings, $"{seed.Ext}-{i}.{seed.Ext}");
                File.WriteAllBytes(saved, input);
                Console.WriteLine($"#{i} {Path.GetFileName(seed.Path)}: {e.GetType().FullName}: {e.Message} (saved {saved})");
                Console.WriteLine(e.StackTrace);
            }
            watch.Stop();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            mostAllocated = Math.Max(mostAllocated, allocated);
            if (watch.ElapsedMilliseconds > slowest)
            {
                slowest = watch.ElapsedMilliseconds;
                if (slowest > 2000)
                {
                    Console.WriteLine($"#{i} {Path.GetFileName(seed.Path)}: slow input, {slowest} ms");
                    Directory.CreateDirectory(findings);
                    File.WriteAllBytes(Path.Combine(findings, $"slow-{seed.Ext}-{i}.{seed.Ext}"), input);
                }
            }
            outcomes[seed.Ext + " " + outcome] = outcomes.GetValueOrDefault(seed.Ext + " " + outcome) + 1;
            if ((i + 1) % 5000 == 0)
            {
                Console.WriteLine($"{i + 1} inputs, {bugs} bugs, {clock.Elapsed.TotalSeconds:F0} s");
            }
        }
        Directory.Delete(work, recursive: true);
        Console.WriteLine($"{count} inputs in {clock.Elapsed.TotalSeconds:F0} s; {bugs} escaped as non-LIMG exceptions; slowest {slowest} ms; most allocated by one input {mostAllocated / 1024} KiB");
        foreach (var (key, n) in outcomes.OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            Console.WriteLine($"  {key}: {n}");
        }
        return bugs == 0 ? 0 : 1;
    }
}
