using System.Buffers.Binary;
using System.Numerics;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// One inode btree record (xfs_inobt_rec): 64 inodes from <see cref="StartIno"/> (AG inode number),
/// a bit per inode set when free and, with sparse inodes, a hole mask (a bit per 4 inodes that were
/// never allocated; their free bits are set too) and the count of inodes the chunk really has.
/// </summary>
internal readonly record struct XfsInodeChunk(uint StartIno, ushort HoleMask, int Count, int FreeCount, ulong FreeMask)
{
    public const int InodesPerChunk = 64;

    public static XfsInodeChunk Parse(ReadOnlySpan<byte> r, bool sparse)
    {
        uint start = BinaryPrimitives.ReadUInt32BigEndian(r);
        ulong free = BinaryPrimitives.ReadUInt64BigEndian(r[8..]);
        return sparse
            ? new XfsInodeChunk(start, BinaryPrimitives.ReadUInt16BigEndian(r[4..]), r[6], r[7], free)
            : new XfsInodeChunk(start, 0, InodesPerChunk, (int)BinaryPrimitives.ReadUInt32BigEndian(r[4..]), free);
    }

    public byte[] ToRecord(bool sparse)
    {
        var r = new byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(r, StartIno);
        if (sparse)
        {
            BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(4), HoleMask);
            r[6] = (byte)Count;
            r[7] = (byte)FreeCount;
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(r.AsSpan(4), (uint)FreeCount);
        }
        BinaryPrimitives.WriteUInt64BigEndian(r.AsSpan(8), FreeMask);
        return r;
    }

    /// <summary>Inodes that exist (not in a hole), one bit per inode.</summary>
    public ulong Present
    {
        get
        {
            ulong present = 0;
            for (int i = 0; i < 16; i++)
            {
                if ((HoleMask & (1 << i)) == 0)
                {
                    present |= 0xFUL << (i * 4);
                }
            }
            return present;
        }
    }

    /// <summary>Whether the record agrees with itself: free count, hole mask and inode count.</summary>
    public bool Consistent => BitOperations.PopCount(FreeMask & Present) == FreeCount && BitOperations.PopCount(Present) == Count && (FreeMask | Present) == ulong.MaxValue;

    /// <summary>The first free inode that exists (index in the chunk), or -1.</summary>
    public int FirstFree()
    {
        ulong usable = FreeMask & Present;
        return usable == 0 ? -1 : BitOperations.TrailingZeroCount(usable);
    }

    public XfsInodeChunk Take(int index) => this with { FreeMask = FreeMask & ~(1UL << index), FreeCount = FreeCount - 1 };

    public XfsInodeChunk Release(int index) => this with { FreeMask = FreeMask | (1UL << index), FreeCount = FreeCount + 1 };
}
