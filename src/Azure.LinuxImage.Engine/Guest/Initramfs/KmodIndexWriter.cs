using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.Guest.Initramfs;

/// <summary>
/// Writes kmod's binary index (modules.dep.bin, modules.alias.bin): a trie, big-endian, magic
/// 0xB007F457, version 2.1. libkmod reads only these binary indexes, never the text modules.dep,
/// so an initramfs that gains modules must gain matching indexes for modprobe and udev to find them.
/// </summary>
public static class KmodIndexWriter
{
    private const uint Magic = 0xB007F457;
    private const uint Version = 0x00020001;
    private const uint PrefixFlag = 0x80000000;
    private const uint ValuesFlag = 0x40000000;
    private const uint ChildrenFlag = 0x20000000;

    /// <summary>Keys with their values in priority order (lower first, as kmod returns them).</summary>
    public static byte[] Write(IEnumerable<(string Key, string Value, uint Priority)> entries)
    {
        // The trie is walked over the keys sorted bytewise (stable, so equal keys keep their
        // order): every node is a run of keys sharing a prefix. Tens of thousands of aliases made
        // a node object per byte before (about 100 ms for a Debian initramfs); this makes none.
        var sorted = entries.Select(e => new Entry(Encoding.ASCII.GetBytes(e.Key), e.Value, e.Priority))
            .OrderBy(e => e.Key, KeyOrder.Instance).ToArray();
        using var stream = new MemoryStream();
        stream.Write(new byte[12]);
        uint rootOffset = WriteNode(stream, sorted, 0, sorted.Length, 0);
        byte[] result = stream.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(result, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(4), Version);
        BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(8), rootOffset);
        return result;
    }

    private sealed record Entry(byte[] Key, string Value, uint Priority);

    private sealed class KeyOrder : IComparer<byte[]>
    {
        public static readonly KeyOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }

    /// <summary>
    /// Writes the node of keys [<paramref name="lo"/>, <paramref name="hi"/>), which share their
    /// first <paramref name="depth"/> bytes: children first, so a node is written once its
    /// children's offsets are known, in byte order. Returns the flagged offset.
    /// </summary>
    private static uint WriteNode(MemoryStream stream, Entry[] keys, int lo, int hi, int depth)
    {
        // Collapse single-child chains without values into this node's prefix, as depmod does. In
        // a sorted run, a key ending here comes first, and the first and last keys share the next
        // byte only when every key does.
        int start = depth;
        while (lo < hi && keys[lo].Key.Length > depth && keys[lo].Key[depth] == keys[hi - 1].Key[depth])
        {
            depth++;
        }
        int children = lo;
        var values = new List<(uint Priority, string Value)>();
        while (children < hi && keys[children].Key.Length == depth)
        {
            if (!values.Contains((keys[children].Priority, keys[children].Value)))
            {
                values.Add((keys[children].Priority, keys[children].Value));
            }
            children++;
        }
        var childOffsets = new List<(byte Byte, uint Offset)>();
        for (int first = children; first < hi;)
        {
            byte b = keys[first].Key[depth];
            int end = first + 1;
            while (end < hi && keys[end].Key[depth] == b)
            {
                end++;
            }
            childOffsets.Add((b, WriteNode(stream, keys, first, end, depth + 1)));
            first = end;
        }
        uint offset = (uint)stream.Length;
        if (offset > 0x0FFFFFFF)
        {
            throw new InvalidOperationException("kmod index larger than 256 MiB");
        }
        uint flags = 0;
        Span<byte> word = stackalloc byte[4];
        if (depth > start)
        {
            flags |= PrefixFlag;
            stream.Write(keys[lo].Key, start, depth - start);
            stream.WriteByte(0);
        }
        if (childOffsets.Count > 0)
        {
            flags |= ChildrenFlag;
            byte first = childOffsets[0].Byte;
            byte last = childOffsets[^1].Byte;
            stream.WriteByte(first);
            stream.WriteByte(last);
            int next = 0;
            for (int c = first; c <= last; c++)
            {
                uint child = 0;
                if (childOffsets[next].Byte == c)
                {
                    child = childOffsets[next++].Offset;
                }
                BinaryPrimitives.WriteUInt32BigEndian(word, child);
                stream.Write(word);
            }
        }
        if (values.Count > 0)
        {
            flags |= ValuesFlag;
            BinaryPrimitives.WriteUInt32BigEndian(word, (uint)values.Count);
            stream.Write(word);
            foreach (var (priority, value) in values.OrderBy(v => v.Priority))
            {
                BinaryPrimitives.WriteUInt32BigEndian(word, priority);
                stream.Write(word);
                stream.Write(Encoding.ASCII.GetBytes(value));
                stream.WriteByte(0);
            }
        }
        return offset | flags;
    }

    /// <summary>modules.dep.bin from modules.dep text: key the module name, value the whole line.</summary>
    public static byte[] FromModulesDep(string modulesDep)
    {
        uint order = 0;
        return Write(KernelModules.ParseModulesDep(modulesDep)
            .Select(e => (KernelModules.ModuleNameOf(e.Path) ?? e.Path, e.Path + ":" + string.Concat(e.Dependencies.Select(d => " " + d)), order++)));
    }

    /// <summary>modules.alias.bin from modules.alias text ("alias PATTERN MODULE").</summary>
    public static byte[] FromModulesAlias(string modulesAlias)
    {
        uint order = 0;
        var entries = new List<(string, string, uint)>();
        foreach (string line in modulesAlias.Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 3 && parts[0] == "alias")
            {
                entries.Add((NormalizeAlias(parts[1]), parts[2], order++));
            }
        }
        return Write(entries);
    }

    /// <summary>
    /// Keys as depmod writes them: '-' becomes '_' outside [...] character classes. modprobe
    /// normalises what it looks up the same way, so "crypto-crc32c" or "scsi:t-0x00" is only found
    /// under its normalised key (without it udev cannot load sd_mod and the root disk never appears).
    /// </summary>
    public static string NormalizeAlias(string alias)
    {
        var normalized = new System.Text.StringBuilder(alias.Length);
        bool inClass = false;
        foreach (char c in alias)
        {
            inClass = c == '[' || (inClass && c != ']');
            normalized.Append(c == '-' && !inClass ? '_' : c);
        }
        return normalized.ToString();
    }
}
