using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>
/// A tree block held in memory while a transaction changes it: a leaf's items or a node's key
/// pointers as lists, serialized into a block (struct btrfs_header, items from the front, data from
/// the back) only when the transaction commits. A block whose generation is the transaction's was
/// created by the transaction and may be changed in place; any other is copied first.
/// </summary>
internal sealed class BtrfsMutableNode
{
    public BtrfsMutableNode(ulong bytenr, byte level, ulong generation, ulong owner, byte[] chunkTreeUuid)
    {
        Bytenr = bytenr;
        Level = level;
        Generation = generation;
        Owner = owner;
        ChunkTreeUuid = chunkTreeUuid;
    }

    public ulong Bytenr { get; set; }

    public byte Level { get; }

    public ulong Generation { get; set; }

    public ulong Owner { get; set; }

    public byte[] ChunkTreeUuid { get; }

    public bool IsLeaf => Level == 0;

    public List<BtrfsKey> Keys { get; } = [];

    /// <summary>Leaf: each item's data.</summary>
    public List<byte[]> Items { get; } = [];

    /// <summary>Node: each child's address and generation.</summary>
    public List<(ulong Bytenr, ulong Generation)> Pointers { get; } = [];

    public int Count => Keys.Count;

    /// <summary>Bytes after the header the block's contents take.</summary>
    public int UsedBytes
    {
        get
        {
            if (!IsLeaf)
            {
                return Count * BtrfsNode.KeyPtrSize;
            }
            int used = 0;
            foreach (var item in Items)
            {
                used += BtrfsNode.ItemSize + item.Length;
            }
            return used;
        }
    }

    public static BtrfsMutableNode Parse(BtrfsNode node)
    {
        var data = node.Data;
        var result = new BtrfsMutableNode(node.Bytenr, node.Level,
            BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(0x50)),
            BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(0x58)),
            data.AsSpan(0x40, 16).ToArray());
        for (int i = 0; i < node.Count; i++)
        {
            result.Keys.Add(node.Key(i));
            if (node.Level == 0)
            {
                result.Items.Add(node.ItemData(i).ToArray());
            }
            else
            {
                result.Pointers.Add((node.ChildBytenr(i), node.ChildGeneration(i)));
            }
        }
        return result;
    }

    public BtrfsMutableNode CopyTo(ulong bytenr, ulong generation, ulong owner)
    {
        var copy = new BtrfsMutableNode(bytenr, Level, generation, owner, ChunkTreeUuid);
        copy.Keys.AddRange(Keys);
        foreach (var item in Items)
        {
            copy.Items.Add(item);
        }
        copy.Pointers.AddRange(Pointers);
        return copy;
    }

    /// <summary>Moves entries [from, Count) into <paramref name="sibling"/> (an empty block of the same level).</summary>
    public void MoveTail(int from, BtrfsMutableNode sibling)
    {
        sibling.Keys.AddRange(Keys.Skip(from));
        Keys.RemoveRange(from, Count - from);
        if (IsLeaf)
        {
            sibling.Items.AddRange(Items.Skip(from));
            Items.RemoveRange(from, Items.Count - from);
        }
        else
        {
            sibling.Pointers.AddRange(Pointers.Skip(from));
            Pointers.RemoveRange(from, Pointers.Count - from);
        }
    }

    public void RemoveAt(int slot)
    {
        Keys.RemoveAt(slot);
        if (IsLeaf)
        {
            Items.RemoveAt(slot);
        }
        else
        {
            Pointers.RemoveAt(slot);
        }
    }

    /// <summary>The block as it goes to disk, checksummed.</summary>
    public byte[] Serialize(int nodeSize, ReadOnlySpan<byte> metadataFsId, BtrfsChecksum checksum)
    {
        var block = new byte[nodeSize];
        var span = block.AsSpan();
        metadataFsId.CopyTo(span[0x20..]);
        BinaryPrimitives.WriteUInt64LittleEndian(span[0x30..], Bytenr);
        // WRITTEN, and the mixed back reference revision every current btrfs writes.
        BinaryPrimitives.WriteUInt64LittleEndian(span[0x38..], 1UL | (1UL << 56));
        ChunkTreeUuid.CopyTo(span[0x40..]);
        BinaryPrimitives.WriteUInt64LittleEndian(span[0x50..], Generation);
        BinaryPrimitives.WriteUInt64LittleEndian(span[0x58..], Owner);
        BinaryPrimitives.WriteUInt32LittleEndian(span[0x60..], (uint)Count);
        span[0x64] = Level;
        var body = span[BtrfsNode.HeaderSize..];
        if (IsLeaf)
        {
            int dataEnd = body.Length;
            for (int i = 0; i < Count; i++)
            {
                var entry = body[(i * BtrfsNode.ItemSize)..];
                WriteKey(entry, Keys[i]);
                dataEnd -= Items[i].Length;
                BinaryPrimitives.WriteUInt32LittleEndian(entry[17..], (uint)dataEnd);
                BinaryPrimitives.WriteUInt32LittleEndian(entry[21..], (uint)Items[i].Length);
                Items[i].CopyTo(body[dataEnd..]);
            }
        }
        else
        {
            for (int i = 0; i < Count; i++)
            {
                var entry = body[(i * BtrfsNode.KeyPtrSize)..];
                WriteKey(entry, Keys[i]);
                BinaryPrimitives.WriteUInt64LittleEndian(entry[17..], Pointers[i].Bytenr);
                BinaryPrimitives.WriteUInt64LittleEndian(entry[25..], Pointers[i].Generation);
            }
        }
        checksum.Compute(span[BtrfsChecksum.FieldSize..], span);
        return block;
    }

    public static void WriteKey(Span<byte> destination, BtrfsKey key)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, key.ObjectId);
        destination[8] = key.Type;
        BinaryPrimitives.WriteUInt64LittleEndian(destination[9..], key.Offset);
    }
}
