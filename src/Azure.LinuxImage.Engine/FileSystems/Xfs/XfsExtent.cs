using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// One mapping of a fork: <see cref="Length"/> blocks from fork block <see cref="Logical"/> at file
/// system block <see cref="Physical"/> (already linear: AG number times AG blocks plus AG block).
/// </summary>
public readonly record struct XfsExtent(ulong Logical, ulong Physical, ulong Length, bool Unwritten)
{
    public const int RecordSize = 16;

    /// <summary>Unpacks xfs_bmbt_rec: 1 bit unwritten, 54 bits offset, 52 bits start block, 21 bits count.</summary>
    public static (ulong Offset, ulong StartBlock, ulong Count, bool Unwritten) Unpack(ReadOnlySpan<byte> record)
    {
        ulong l0 = BinaryPrimitives.ReadUInt64BigEndian(record);
        ulong l1 = BinaryPrimitives.ReadUInt64BigEndian(record[8..]);
        bool unwritten = (l0 >> 63) != 0;
        ulong offset = (l0 & 0x7FFFFFFFFFFFFFFFUL) >> 9;
        ulong start = ((l0 & 0x1FFUL) << 43) | (l1 >> 21);
        ulong count = l1 & 0x1FFFFFUL;
        return (offset, start, count, unwritten);
    }

    /// <summary>The longest extent one record holds (21 bits of block count).</summary>
    public const ulong MaxLength = (1UL << 21) - 1;

    /// <summary>Packs xfs_bmbt_rec from a fork offset and an fsblock number (AG number shifted by agblklog, not linear).</summary>
    public static void Pack(Span<byte> record, ulong offset, ulong fsblock, ulong count, bool unwritten)
    {
        ulong l0 = (unwritten ? 1UL << 63 : 0) | (offset << 9) | (fsblock >> 43);
        ulong l1 = (fsblock << 21) | (count & MaxLength);
        BinaryPrimitives.WriteUInt64BigEndian(record, l0);
        BinaryPrimitives.WriteUInt64BigEndian(record[8..], l1);
    }
}
