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

    private sealed class Node
    {
        public readonly SortedDictionary<byte, Node> Children = [];
        public readonly List<(uint Priority, string Value)> Values = [];
    }

    /// <summary>Keys with their values in priority order (lower first, as kmod returns them).</summary>
    public static byte[] Write(IEnumerable<(string Key, string Value, uint Priority)> entries)
    {
        var root = new Node();
        foreach (var (key, value, priority) in entries)
        {
            var node = root;
            foreach (byte b in Encoding.ASCII.GetBytes(key))
            {
                if (!node.Children.TryGetValue(b, out var child))
                {
                    node.Children[b] = child = new Node();
                }
                node = child;
            }
            if (!node.Values.Contains((priority, value)))
            {
                node.Values.Add((priority, value));
            }
        }
        using var stream = new MemoryStream();
        stream.Write(new byte[12]);
        uint rootOffset = WriteNode(stream, root);
        byte[] result = stream.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(result, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(4), Version);
        BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(8), rootOffset);
        return result;
    }

    /// <summary>Writes children first, so a node is written once its children's offsets are known; returns the flagged offset.</summary>
    private static uint WriteNode(MemoryStream stream, Node node)
    {
        // Collapse single-child chains without values into this node's prefix, as depmod does.
        var prefix = new List<byte>();
        while (node.Values.Count == 0 && node.Children.Count == 1)
        {
            var only = node.Children.First();
            prefix.Add(only.Key);
            node = only.Value;
        }
        var childOffsets = new Dictionary<byte, uint>();
        foreach (var (ch, child) in node.Children)
        {
            childOffsets[ch] = WriteNode(stream, child);
        }
        uint offset = (uint)stream.Length;
        if (offset > 0x0FFFFFFF)
        {
            throw new InvalidOperationException("kmod index larger than 256 MiB");
        }
        uint flags = 0;
        Span<byte> word = stackalloc byte[4];
        if (prefix.Count > 0)
        {
            flags |= PrefixFlag;
            stream.Write(prefix.ToArray());
            stream.WriteByte(0);
        }
        if (node.Children.Count > 0)
        {
            flags |= ChildrenFlag;
            byte first = node.Children.Keys.First();
            byte last = node.Children.Keys.Last();
            stream.WriteByte(first);
            stream.WriteByte(last);
            for (int c = first; c <= last; c++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(word, childOffsets.TryGetValue((byte)c, out uint o) ? o : 0);
                stream.Write(word);
            }
        }
        if (node.Values.Count > 0)
        {
            flags |= ValuesFlag;
            BinaryPrimitives.WriteUInt32BigEndian(word, (uint)node.Values.Count);
            stream.Write(word);
            foreach (var (priority, value) in node.Values.OrderBy(v => v.Priority))
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
                entries.Add((parts[1], parts[2], order++));
            }
        }
        return Write(entries);
    }
}
