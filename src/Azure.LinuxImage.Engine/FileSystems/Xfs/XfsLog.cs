using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// Whether the internal log is clean, decided as the kernel's log recovery does: find the head
/// (where the cycle number stamped in every 512-byte log block drops), find the last record header
/// before it, and call the log clean only when that record is a lone unmount record ending exactly
/// at the head. Anything irregular counts as not clean: refusing is always safe, guessing is not.
/// </summary>
internal static class XfsLog
{
    public const uint HeaderMagic = 0xFEEDBABE;
    private const int Bb = 512;
    private const int HeaderCycleSize = 32 * 1024;
    private const byte UnmountTrans = 0x20;
    private const int MaxRecordBlocks = 2 * (256 * 1024 / Bb) + 16;

    /// <summary>Null when clean; otherwise why not.</summary>
    public static string? Dirty(XfsFileSystem fs)
    {
        var sb = fs.Superblock;
        long start = (long)fs.LinearBlock(sb.LogStart) * sb.BlockSize;
        long blocks = (long)sb.LogBlocks * sb.BlockSize / Bb;
        if (blocks < 64)
        {
            return "the log is too small to be real";
        }
        uint Cycle(long bb)
        {
            byte[] b = fs.ReadBytes(start + (bb * Bb), 8);
            uint first = BinaryPrimitives.ReadUInt32BigEndian(b);
            return first == HeaderMagic ? BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(4)) : first;
        }
        uint firstCycle = Cycle(0);
        if (firstCycle == 0)
        {
            // A zeroed log (never mounted since it was cleared): nothing to replay.
            return null;
        }
        uint lastCycle = Cycle(blocks - 1);
        long head;
        if (firstCycle == lastCycle)
        {
            head = 0; // the whole log was written in this cycle: the head wrapped to the start
        }
        else
        {
            if (lastCycle + 1 != firstCycle)
            {
                return $"log cycles {firstCycle} and {lastCycle} at its ends are not consecutive";
            }
            // The first block that still carries the previous cycle.
            long lo = 0, hi = blocks - 1;
            while (lo < hi)
            {
                long mid = lo + ((hi - lo) / 2);
                if (Cycle(mid) == firstCycle)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }
            head = lo;
            // A torn write leaves blocks of the old cycle before the head, or of the new one after it.
            for (long i = Math.Max(0, head - MaxRecordBlocks); i < Math.Min(blocks, head + MaxRecordBlocks); i++)
            {
                if (Cycle(i) != (i < head ? firstCycle : lastCycle))
                {
                    return $"log block {i} carries an unexpected cycle near the head at {head}";
                }
            }
        }
        // The last record header before the head.
        long rec = -1;
        for (int back = 1; back <= Math.Min(blocks, MaxRecordBlocks); back++)
        {
            long bb = ((head - back) % blocks + blocks) % blocks;
            if (BinaryPrimitives.ReadUInt32BigEndian(fs.ReadBytes(start + (bb * Bb), 4)) == HeaderMagic)
            {
                rec = bb;
                break;
            }
        }
        if (rec < 0)
        {
            return $"no log record header before the head at block {head}";
        }
        byte[] header = fs.ReadBytes(start + (rec * Bb), Bb);
        uint version = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8));
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
        uint ops = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(40));
        uint size = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(320));
        long headerBlocks = (version & 2) != 0 && size > HeaderCycleSize ? (size + HeaderCycleSize - 1) / HeaderCycleSize : 1;
        if (length > 256 * 1024 * 2 || headerBlocks > 8)
        {
            return $"the last log record at block {rec} has an impossible length {length}";
        }
        long after = (rec + headerBlocks + ((length + Bb - 1) / Bb)) % blocks;
        if (ops != 1 || after != head)
        {
            return $"the last log record (block {rec}) is not a lone unmount record ending at the head ({head})";
        }
        long data = (rec + headerBlocks) % blocks;
        byte flags = fs.ReadBytes(start + (data * Bb) + 9, 1)[0];
        return (flags & UnmountTrans) != 0 ? null : $"the last log record (block {rec}) is not an unmount record";
    }
}
