using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Azure.LinuxImage.Engine.Guest.Distributions;

namespace Azure.LinuxImage.Engine.Guest.Initramfs;

/// <summary>
/// The result of adding the drivers to one initramfs, kept in the build's intermediate folder and
/// keyed by everything it depends on: the initramfs's bytes, the generator, the drivers asked for,
/// the kernel's module index, aliases, built-in list and configuration, and the bytes of every
/// module file that could be added. A build that changed another setting (a kernel parameter)
/// finds the same key and writes the same bytes without decompressing anything, so re-patching
/// costs a read and a hash of the initramfs, whatever its size and compression. The patched file
/// is stored as its length and the 4 KiB pieces that differ from the original (a zstd frame's
/// header changes near the start as well as its end), so an entry is the size of the change.
/// </summary>
public sealed class InitramfsPatchCache(string directory)
{
    private const uint Magic = 0x4C494D43; // "LIMC"
    private const int FormatVersion = 2;
    private const int Piece = 4096;

    private static readonly Dictionary<string, Task<string?>> WarmUps = new(StringComparer.Ordinal);

    /// <summary>
    /// A warm-up of <paramref name="cacheDirectory"/> running in this process (the convert step's,
    /// left running when the same process goes on with the next steps): the patch waits for it
    /// (<see cref="AwaitWarmUp"/>) and finds its result instead of doing the same work beside it.
    /// </summary>
    public static void RegisterWarmUp(string cacheDirectory, Task<string?> warmUp)
    {
        lock (WarmUps)
        {
            WarmUps[Path.GetFullPath(cacheDirectory)] = warmUp;
        }
    }

    private static void WaitForWarmUp(string cacheDirectory)
    {
        Task<string?>? warmUp;
        lock (WarmUps)
        {
            if (!WarmUps.Remove(Path.GetFullPath(cacheDirectory), out warmUp))
            {
                return;
            }
        }
        using (Diagnostics.StepTimings.Measure("patch: waiting for the warm-up of the patch cache"))
        {
            if (warmUp.Result is { } skipped)
            {
                Diagnostics.StepTimings.Note("patch: the patch cache was not warmed: " + skipped);
            }
            // Its buffers (and the conversion's, left uncollected while it ran) are garbage now:
            // collected before the patch reads the initramfs, whose buffers then reuse that memory.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        }
    }

    /// <summary>The patched file: <paramref name="Length"/> bytes, the original's where <paramref name="Ranges"/> say nothing.</summary>
    public sealed record Entry(long Length, IReadOnlyList<(long Offset, byte[] Data)> Ranges, string? Log)
    {
        /// <summary>The pieces of <paramref name="patched"/> that differ from <paramref name="original"/>, neighbours merged.</summary>
        public static Entry Diff(byte[] original, byte[] patched, string? log)
        {
            var ranges = new List<(long Offset, byte[] Data)>();
            int start = -1;
            for (int at = 0; at < patched.Length; at += Piece)
            {
                int n = Math.Min(Piece, patched.Length - at);
                bool same = at + n <= original.Length && original.AsSpan(at, n).SequenceEqual(patched.AsSpan(at, n));
                if (!same && start < 0)
                {
                    start = at;
                }
                else if (same && start >= 0)
                {
                    ranges.Add((start, patched[start..at]));
                    start = -1;
                }
            }
            if (start >= 0)
            {
                ranges.Add((start, patched[start..]));
            }
            return new Entry(patched.Length, ranges, log);
        }

        /// <summary>The patched file, or null when the entry does not fit this original.</summary>
        public byte[]? Apply(byte[] original)
        {
            if (Length < 0 || Length > Array.MaxLength || Ranges.Any(r => r.Offset < 0 || r.Offset + r.Data.Length > Length))
            {
                return null;
            }
            var result = new byte[Length];
            original.AsSpan(0, (int)Math.Min(Length, original.Length)).CopyTo(result);
            foreach (var (offset, data) in Ranges)
            {
                data.CopyTo(result, offset);
            }
            return result;
        }
    }

    public static string Key(byte[] original, KernelModules modules, InitramfsGenerator generator, IReadOnlyList<string> drivers, Func<string, byte[]?> readModule)
    {
        var hash = new XxHash128();
        void Add(string? text)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text ?? "\u0001null");
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(length, bytes.LongLength);
            hash.Append(length);
            hash.Append(bytes);
        }
        void AddBytes(byte[]? bytes)
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(length, bytes?.LongLength ?? -1);
            hash.Append(length);
            // XxHash128's one-shot form is vectorised; appending tens of MiB to the streaming
            // state runs about ten times slower (34 ms against 3 for a 36 MB initramfs).
            hash.Append(XxHash128.Hash(bytes ?? []));
        }
        Add("initramfs-patch/" + FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        AddBytes(original);
        Add(generator.ToString());
        Add(modules.Version);
        Add(modules.Directory);
        Add(modules.ModulesDepText);
        Add(modules.ModulesAliasText);
        Add(modules.KernelConfig);
        foreach (string driver in drivers)
        {
            Add(driver);
            foreach (string module in modules.WithDependencies(driver))
            {
                Add(module + (modules.IsBuiltin(module) ? " builtin" : string.Empty));
                string? path = modules.PathOf(module);
                Add(path);
                AddBytes(path is null ? null : readModule(modules.Directory + "/" + path));
            }
        }
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    /// <summary>The module lists of initramfs images, in the same folder (see <see cref="InitramfsModuleListCache"/>).</summary>
    public InitramfsModuleListCache ModuleLists { get; } = new(directory);

    private string PathOf(string key) => Path.Combine(directory, "initramfs-" + key + ".patch");

    /// <summary>False for the warm-up's own cache, which must not wait for itself.</summary>
    public bool WaitsForWarmUp { get; init; } = true;

    /// <summary>
    /// Waits for a warm-up of this cache still running in this process. Called before the patch
    /// reads the initramfs, so the two never hold an initramfs in memory at once.
    /// </summary>
    public void AwaitWarmUp()
    {
        if (WaitsForWarmUp)
        {
            WaitForWarmUp(directory);
        }
    }

    /// <summary>The stored result, or null when there is none (or it is unreadable: it is only a cache).</summary>
    public Entry? TryGet(string key)
    {
        try
        {
            byte[] data = File.ReadAllBytes(PathOf(key));
            var span = data.AsSpan();
            if (span.Length < 20 || BinaryPrimitives.ReadUInt32LittleEndian(span) != Magic)
            {
                return null;
            }
            long length = BinaryPrimitives.ReadInt64LittleEndian(span[4..]);
            int logLength = BinaryPrimitives.ReadInt32LittleEndian(span[12..]);
            int rangeCount = BinaryPrimitives.ReadInt32LittleEndian(span[16..]);
            long at = 20L + Math.Max(logLength, 0);
            if (logLength < -1 || rangeCount < 0 || at > span.Length)
            {
                return null;
            }
            string? log = logLength < 0 ? null : Encoding.UTF8.GetString(span.Slice(20, logLength));
            var ranges = new List<(long Offset, byte[] Data)>();
            // Each range costs at least its 12-byte header, so the count is bounded by the file.
            for (int i = 0; i < rangeCount; i++)
            {
                if (at + 12 > span.Length)
                {
                    return null;
                }
                long offset = BinaryPrimitives.ReadInt64LittleEndian(span[(int)at..]);
                int size = BinaryPrimitives.ReadInt32LittleEndian(span[((int)at + 8)..]);
                at += 12;
                if (size < 0 || at + size > span.Length)
                {
                    return null;
                }
                ranges.Add((offset, span.Slice((int)at, size).ToArray()));
                at += size;
            }
            return at == span.Length ? new Entry(length, ranges, log) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Put(string key, Entry entry)
    {
        try
        {
            Directory.CreateDirectory(directory);
            byte[] log = entry.Log is null ? [] : Encoding.UTF8.GetBytes(entry.Log);
            var data = new byte[20 + log.Length + entry.Ranges.Sum(r => 12 + r.Data.Length)];
            BinaryPrimitives.WriteUInt32LittleEndian(data, Magic);
            BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(4), entry.Length);
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(12), entry.Log is null ? -1 : log.Length);
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(16), entry.Ranges.Count);
            log.CopyTo(data, 20);
            int at = 20 + log.Length;
            foreach (var (offset, bytes) in entry.Ranges)
            {
                BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(at), offset);
                BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(at + 8), bytes.Length);
                bytes.CopyTo(data, at + 12);
                at += 12 + bytes.Length;
            }
            string path = PathOf(key);
            string temp = path + ".tmp";
            File.WriteAllBytes(temp, data);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only a cache: the next build computes the patch again.
        }
    }
}
