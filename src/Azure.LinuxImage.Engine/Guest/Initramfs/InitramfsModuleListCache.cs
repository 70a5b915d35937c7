using System.IO.Hashing;
using System.Text;

namespace Azure.LinuxImage.Engine.Guest.Initramfs;

/// <summary>
/// The kernel modules an initramfs holds, kept in the build's intermediate folder under a hash of
/// the initramfs's own bytes. Which modules an archive holds follows from its bytes alone, so the
/// entry is exact whoever wrote it: the patch step records the list of the initramfs it wrote (it
/// knows what it added), and validation then checks the drivers (R7) with a read and a hash
/// instead of decompressing and listing tens of MiB again, in the first build and in every rebuild
/// that leaves the initramfs as it was.
/// </summary>
public sealed class InitramfsModuleListCache(string directory)
{
    private const string Header = "limg-initramfs-modules 1";

    public static string Key(ReadOnlySpan<byte> initramfs)
    {
        var hash = new XxHash128();
        hash.Append(Encoding.UTF8.GetBytes(Header + "\n"));
        // One-shot over the archive: XxHash128's streaming Append is about ten times slower.
        hash.Append(XxHash128.Hash(initramfs));
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    private string PathOf(string key) => Path.Combine(directory, "initramfs-" + key + ".modules");

    /// <summary>The stored list, or null when there is none or it is not whole (it is only a cache).</summary>
    public ISet<string>? TryGet(string key)
    {
        try
        {
            string[] lines = File.ReadAllLines(PathOf(key));
            // The header opens it and the count closes it: a file cut short is not taken for a shorter list.
            if (lines.Length < 2 || lines[0] != Header || !int.TryParse(lines[^1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int count) || count != lines.Length - 2)
            {
                return null;
            }
            return new HashSet<string>(lines[1..^1], StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Put(string key, IEnumerable<string> modules)
    {
        try
        {
            var names = modules.Order(StringComparer.Ordinal).ToList();
            Directory.CreateDirectory(directory);
            string path = PathOf(key);
            string temp = path + ".tmp";
            File.WriteAllText(temp, Header + "\n" + string.Concat(names.Select(n => n + "\n")) + names.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only a cache: validation lists the initramfs itself.
        }
    }
}
