using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>One directory entry as read from disk.</summary>
public sealed record Ext4DirEntry(string Name, uint Inode, byte FileType);

/// <summary>The linear directory entry format shared by linear directories, htree leaves and inline directories.</summary>
internal static class Ext4Directory
{
    public const byte TypeUnknown = 0, TypeFile = 1, TypeDirectory = 2, TypeSymlink = 7;
    public const int TailSize = 12;
    public const byte TailFileType = 0xDE;

    public static byte TypeFromMode(int mode) => (mode & Ext4Inode.ModeTypeMask) switch
    {
        Ext4Inode.ModeFile => 1,
        Ext4Inode.ModeDirectory => 2,
        0x2000 => 3,
        0x6000 => 4,
        0x1000 => 5,
        0xC000 => 6,
        Ext4Inode.ModeSymlink => 7,
        _ => 0,
    };

    public static int EntrySize(int nameLength) => (8 + nameLength + 3) & ~3;

    /// <summary>A raw entry position inside a block.</summary>
    internal readonly record struct Slot(int Offset, int RecLen, uint Inode, int NameLength, byte FileType);

    /// <summary>
    /// Walks the entries of one block. Every rec_len is checked (at least the 8-byte header plus the
    /// name, 4-aligned, inside the block), so a zero or huge length is damage, never a hang.
    /// </summary>
    public static List<Slot> Parse(Ext4FileSystem fs, ReadOnlySpan<byte> block, uint dirInode, bool hasFiletype)
    {
        var slots = new List<Slot>();
        int offset = 0;
        while (offset < block.Length)
        {
            if (block.Length - offset < 8)
            {
                throw fs.Damaged($"directory inode {dirInode} has a truncated entry at offset {offset}");
            }
            uint inode = BinaryPrimitives.ReadUInt32LittleEndian(block[offset..]);
            int recLen = BinaryPrimitives.ReadUInt16LittleEndian(block[(offset + 4)..]);
            if (recLen == 0 && block.Length == 65536)
            {
                recLen = 65536;
            }
            int nameLen = hasFiletype ? block[offset + 6] : BinaryPrimitives.ReadUInt16LittleEndian(block[(offset + 6)..]);
            byte type = hasFiletype ? block[offset + 7] : (byte)0;
            if (recLen < 8 || recLen % 4 != 0 || recLen > block.Length - offset || (inode != 0 && EntrySize(nameLen) > recLen) || (inode != 0 && nameLen == 0))
            {
                throw fs.Damaged($"directory inode {dirInode} has an entry with invalid length {recLen} at offset {offset}");
            }
            if (inode > fs.Superblock.InodesCount)
            {
                throw fs.Damaged($"directory inode {dirInode} names inode {inode}, beyond the {fs.Superblock.InodesCount} inodes of the file system");
            }
            slots.Add(new Slot(offset, recLen, inode, nameLen, type));
            offset += recLen;
        }
        return slots;
    }

    public static string Name(ReadOnlySpan<byte> block, Slot slot) => Encoding.UTF8.GetString(block.Slice(slot.Offset + 8, slot.NameLength));

    public static bool NameEquals(ReadOnlySpan<byte> block, Slot slot, ReadOnlySpan<byte> name) =>
        slot.Inode != 0 && block.Slice(slot.Offset + 8, slot.NameLength).SequenceEqual(name);

    public static void WriteEntry(Span<byte> block, int offset, int recLen, uint inode, ReadOnlySpan<byte> name, byte fileType, bool hasFiletype)
    {
        var e = block[offset..];
        BinaryPrimitives.WriteUInt32LittleEndian(e, inode);
        BinaryPrimitives.WriteUInt16LittleEndian(e[4..], (ushort)(recLen == 65536 ? 0 : recLen));
        if (hasFiletype)
        {
            e[6] = (byte)name.Length;
            e[7] = fileType;
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(e[6..], (ushort)name.Length);
        }
        name.CopyTo(e[8..]);
        e.Slice(8 + name.Length, EntrySize(name.Length) - 8 - name.Length).Clear();
    }

    public static void WriteTail(Span<byte> block)
    {
        var t = block[^TailSize..];
        t.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(t[4..], TailSize);
        t[7] = TailFileType;
    }

    /// <summary>
    /// Whether the block ends in a checksum tail: the entry chain must end exactly where the tail
    /// starts. The last 12 bytes alone do not tell: an htree root keeps the tail of the linear block
    /// it was made from inside ".."'s record (and its dx_tail's checksum where the tail's was), so the
    /// bytes match while the chain runs to the end of the block (seen on kernel-made /etc/ssl/certs).
    /// </summary>
    public static bool HasTail(ReadOnlySpan<byte> block)
    {
        var t = block[^TailSize..];
        if (!(BinaryPrimitives.ReadUInt32LittleEndian(t) == 0 && BinaryPrimitives.ReadUInt16LittleEndian(t[4..]) == TailSize && t[6] == 0 && t[7] == TailFileType))
        {
            return false;
        }
        int end = block.Length - TailSize;
        int at = 0;
        // Each step advances by at least 12 bytes, so the walk ends within a block's worth of steps.
        while (at < end)
        {
            int length = BinaryPrimitives.ReadUInt16LittleEndian(block[(at + 4)..]);
            if (length < 12 || at + length > block.Length)
            {
                // A broken chain: the parser reports it; here the bytes alone decide, as before.
                return true;
            }
            at += length;
        }
        return at == end;
    }

    /// <summary>Tries to place an entry in a block (into free slack after an entry or into an unused entry); false when it does not fit.</summary>
    public static bool TryInsert(Ext4FileSystem fs, Span<byte> block, int usable, uint dirInode, uint inode, ReadOnlySpan<byte> name, byte fileType, bool hasFiletype)
    {
        int need = EntrySize(name.Length);
        foreach (var slot in Parse(fs, block[..usable], dirInode, hasFiletype))
        {
            if (slot.Inode == 0 && slot.RecLen >= need)
            {
                WriteEntry(block, slot.Offset, slot.RecLen, inode, name, fileType, hasFiletype);
                return true;
            }
            int used = slot.Inode == 0 ? 0 : EntrySize(slot.NameLength);
            if (slot.Inode != 0 && slot.RecLen - used >= need)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(block[(slot.Offset + 4)..], (ushort)used);
                WriteEntry(block, slot.Offset + used, slot.RecLen - used, inode, name, fileType, hasFiletype);
                return true;
            }
        }
        return false;
    }

    /// <summary>Removes an entry by merging it into the previous one (or marking it unused when first in the block).</summary>
    public static bool TryRemove(Ext4FileSystem fs, Span<byte> block, int usable, uint dirInode, ReadOnlySpan<byte> name, bool hasFiletype, out uint removedInode)
    {
        var slots = Parse(fs, block[..usable], dirInode, hasFiletype);
        for (int i = 0; i < slots.Count; i++)
        {
            if (!NameEquals(block, slots[i], name))
            {
                continue;
            }
            removedInode = slots[i].Inode;
            if (i == 0)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(block[slots[i].Offset..], 0);
            }
            else
            {
                var prev = slots[i - 1];
                BinaryPrimitives.WriteUInt16LittleEndian(block[(prev.Offset + 4)..], (ushort)(prev.RecLen + slots[i].RecLen));
            }
            return true;
        }
        removedInode = 0;
        return false;
    }
}
