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
/// is stored as the length of the original prefix it keeps and the bytes after it.
/// </summary>
public sealed class InitramfsPatchCache(string directory)
{
    private const uint Magic = 0x4C494D43; // "LIMC"
    private const int FormatVersion = 1;

    public sealed record Entry(long KeptPrefix, byte[] Tail, string? Log);

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
            hash.Append(bytes ?? []);
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
            long kept = BinaryPrimitives.ReadInt64LittleEndian(span[4..]);
            int logLength = BinaryPrimitives.ReadInt32LittleEndian(span[12..]);
            int tailLength = BinaryPrimitives.ReadInt32LittleEndian(span[16..]);
            if (logLength < -1 || tailLength < 0 || 20L + Math.Max(logLength, 0) + tailLength != span.Length)
            {
                return null;
            }
            string? log = logLength < 0 ? null : Encoding.UTF8.GetString(span.Slice(20, logLength));
            return new Entry(kept, span[(20 + Math.Max(logLength, 0))..].ToArray(), log);
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
            var data = new byte[20 + log.Length + entry.Tail.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(data, Magic);
            BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(4), entry.KeptPrefix);
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(12), entry.Log is null ? -1 : log.Length);
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(16), entry.Tail.Length);
            log.CopyTo(data, 20);
            entry.Tail.CopyTo(data, 20 + log.Length);
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
