using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Partitions;

/// <summary>The DOS/MBR table: four primary entries, and logical partitions in the extended partition's EBR chain.</summary>
public static class MbrPartitionTable
{
    public const int SectorSize = 512;
    private const int MaxLogical = 128;

    public static bool HasSignature(ReadOnlySpan<byte> sector0) => sector0.Length >= 512 && sector0[510] == 0x55 && sector0[511] == 0xAA;

    /// <summary>True when the first entry is the GPT protective type (0xEE).</summary>
    public static bool IsProtective(ReadOnlySpan<byte> sector0)
    {
        if (!HasSignature(sector0))
        {
            return false;
        }
        for (int i = 0; i < 4; i++)
        {
            if (sector0[446 + (i * 16) + 4] == 0xEE)
            {
                return true;
            }
        }
        return false;
    }

    public static PartitionTable Read(IReadableVolume disk, string source)
    {
        var mbr = disk.ReadBytes(0, SectorSize);
        if (!HasSignature(mbr))
        {
            throw new LinuxImageException(DiagnosticCatalog.PartitionTableDamaged, source, source, "the MBR has no 0x55AA signature");
        }
        uint diskSignature = BinaryPrimitives.ReadUInt32LittleEndian(mbr.AsSpan(440));
        var partitions = new List<Partition>();
        var warnings = new List<string>();
        long diskSectors = disk.Length / SectorSize;
        for (int i = 0; i < 4; i++)
        {
            var e = mbr.AsSpan(446 + (i * 16), 16);
            byte type = e[4];
            uint start = BinaryPrimitives.ReadUInt32LittleEndian(e[8..]);
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
            if (type == 0 || count == 0)
            {
                continue;
            }
            CheckInside(source, i + 1, start, count, diskSectors);
            if (PartitionTypes.IsExtended(type))
            {
                partitions.Add(Make(i + 1, start, count, type, diskSignature));
                ReadLogical(disk, source, start, count, diskSignature, diskSectors, partitions);
            }
            else
            {
                partitions.Add(Make(i + 1, start, count, type, diskSignature));
            }
        }
        return new PartitionTable(PartitionScheme.Mbr, partitions, $"{diskSignature:x8}", warnings);
    }

    private static void ReadLogical(IReadableVolume disk, string source, uint extStart, uint extCount, uint diskSignature, long diskSectors, List<Partition> partitions)
    {
        var seen = new HashSet<uint>();
        uint ebr = extStart;
        int number = 5;
        while (true)
        {
            if (!seen.Add(ebr) || seen.Count > MaxLogical)
            {
                throw new LinuxImageException(DiagnosticCatalog.PartitionTableDamaged, source, source, "the chain of logical partitions loops or is too long");
            }
            if (ebr < extStart || ebr >= (ulong)extStart + extCount)
            {
                throw new LinuxImageException(DiagnosticCatalog.PartitionTableDamaged, source, source, $"an extended boot record at sector {ebr} lies outside the extended partition");
            }
            var sector = disk.ReadBytes((long)ebr * SectorSize, SectorSize);
            if (!HasSignature(sector))
            {
                throw new LinuxImageException(DiagnosticCatalog.PartitionTableDamaged, source, source, $"the extended boot record at sector {ebr} has no signature");
            }
            var first = sector.AsSpan(446, 16);
            uint relStart = BinaryPrimitives.ReadUInt32LittleEndian(first[8..]);
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(first[12..]);
            if (first[4] != 0 && count != 0)
            {
                ulong start = (ulong)ebr + relStart;
                if (start > uint.MaxValue || start + count > (ulong)extStart + extCount)
                {
                    throw new LinuxImageException(DiagnosticCatalog.PartitionTableDamaged, source, source, $"logical partition {number} lies outside the extended partition");
                }
                CheckInside(source, number, (uint)start, count, diskSectors);
                partitions.Add(Make(number, (uint)start, count, first[4], diskSignature));
                number++;
            }
            var next = sector.AsSpan(446 + 16, 16);
            uint nextRel = BinaryPrimitives.ReadUInt32LittleEndian(next[8..]);
            if (next[4] == 0 || nextRel == 0)
            {
                return;
            }
            ulong nextEbr = (ulong)extStart + nextRel;
            if (nextEbr > uint.MaxValue)
            {
                throw new LinuxImageException(DiagnosticCatalog.PartitionTableDamaged, source, source, "an extended boot record points past 2 TiB");
            }
            ebr = (uint)nextEbr;
        }
    }

    private static void CheckInside(string source, int number, uint start, uint count, long diskSectors)
    {
        if (start == 0 || (long)start + count > diskSectors)
        {
            throw new LinuxImageException(DiagnosticCatalog.PartitionTableDamaged, source, source,
                $"partition {number} (sectors {start}+{count}) lies outside the disk of {diskSectors} sectors");
        }
    }

    private static Partition Make(int number, uint start, uint count, byte type, uint diskSignature)
    {
        var (kind, name) = PartitionTypes.Describe(type);
        return new Partition(number, (long)start * SectorSize, (long)count * SectorSize, kind, name, type, null, $"{diskSignature:x8}-{number:x2}", null);
    }
}
