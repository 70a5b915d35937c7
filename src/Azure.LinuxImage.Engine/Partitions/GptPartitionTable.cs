using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Partitions;

/// <summary>
/// The GUID partition table: the primary header and entries are checked by their CRC-32s; when the
/// primary copy fails, the backup at the end of the disk is used (and a warning says so).
/// </summary>
public static class GptPartitionTable
{
    private static readonly byte[] Signature = "EFI PART"u8.ToArray();
    private const int MaxEntryArrayBytes = 1024 * 1024;

    /// <summary>Finds the sector size whose LBA 1 holds a GPT signature (512, else 4096), or 0.</summary>
    public static int ProbeSectorSize(IReadableVolume disk)
    {
        foreach (int size in new[] { 512, 4096 })
        {
            if (disk.Length >= size * 3L && disk.ReadBytes(size, 8).AsSpan().SequenceEqual(Signature))
            {
                return size;
            }
        }
        // A damaged primary: the backup header sits in the last sector.
        foreach (int size in new[] { 512, 4096 })
        {
            if (disk.Length >= size * 3L && disk.ReadBytes(((disk.Length / size) - 1) * size, 8).AsSpan().SequenceEqual(Signature))
            {
                return size;
            }
        }
        return 0;
    }

    public static PartitionTable Read(IReadableVolume disk, string source, int sectorSize = 512)
    {
        long sectors = disk.Length / sectorSize;
        var warnings = new List<string>();
        string? primaryProblem = TryRead(disk, 1, sectorSize, sectors, out var table);
        if (table is not null)
        {
            return table;
        }
        string? backupProblem = TryRead(disk, sectors - 1, sectorSize, sectors, out table);
        if (table is not null)
        {
            warnings.Add($"The primary GPT is damaged ({primaryProblem}); the backup GPT at the end of the disk was used.");
            return table with { Warnings = warnings };
        }
        throw new LinuxImageException(DiagnosticCatalog.GptChecksumMismatch, source, source, $"primary: {primaryProblem}; backup: {backupProblem}");
    }

    private static string? TryRead(IReadableVolume disk, long lba, int sectorSize, long sectors, out PartitionTable? table)
    {
        table = null;
        if (lba < 1 || lba >= sectors)
        {
            return "header outside the disk";
        }
        var header = disk.ReadBytes(lba * sectorSize, sectorSize);
        if (!header.AsSpan(0, 8).SequenceEqual(Signature))
        {
            return "no 'EFI PART' signature";
        }
        int headerSize = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(12));
        if (headerSize < 92 || headerSize > sectorSize)
        {
            return $"header size {headerSize} is invalid";
        }
        uint storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(16));
        var forCrc = header.AsSpan(0, headerSize).ToArray();
        Array.Clear(forCrc, 16, 4);
        uint computed = Crc32.HashToUInt32(forCrc);
        if (computed != storedCrc)
        {
            return $"header CRC mismatch (stored 0x{storedCrc:X8}, computed 0x{computed:X8})";
        }
        long myLba = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(24));
        long firstUsable = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(40));
        long lastUsable = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(48));
        var diskGuid = new Guid(header.AsSpan(56, 16));
        long entriesLba = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(72));
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(80));
        uint entrySize = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(84));
        uint entriesCrc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(88));
        if (myLba != lba)
        {
            return $"header says it is at LBA {myLba}, found at {lba}";
        }
        if (entrySize < 128 || entrySize % 8 != 0 || (ulong)count * entrySize > MaxEntryArrayBytes)
        {
            return $"entry array of {count} x {entrySize} bytes is invalid";
        }
        int arrayBytes = (int)(count * entrySize);
        if (entriesLba < 1 || entriesLba >= sectors || entriesLba * sectorSize > disk.Length - arrayBytes)
        {
            return "entry array outside the disk";
        }
        if (firstUsable > lastUsable || lastUsable >= sectors)
        {
            return "usable range outside the disk";
        }
        var entries = disk.ReadBytes(entriesLba * sectorSize, arrayBytes);
        uint computedEntries = Crc32.HashToUInt32(entries);
        if (computedEntries != entriesCrc)
        {
            return $"entry array CRC mismatch (stored 0x{entriesCrc:X8}, computed 0x{computedEntries:X8})";
        }
        var partitions = new List<Partition>();
        for (int i = 0; i < count; i++)
        {
            var e = entries.AsSpan(i * (int)entrySize, (int)entrySize);
            var type = new Guid(e[..16]);
            if (type == Guid.Empty)
            {
                continue;
            }
            var unique = new Guid(e.Slice(16, 16));
            long first = BinaryPrimitives.ReadInt64LittleEndian(e[32..]);
            long last = BinaryPrimitives.ReadInt64LittleEndian(e[40..]);
            if (first < firstUsable || last > lastUsable || last < first)
            {
                return $"partition {i + 1} (LBA {first}..{last}) lies outside the usable area";
            }
            string name = Encoding.Unicode.GetString(e.Slice(56, 72)).TrimEnd('\0');
            var (kind, typeName) = PartitionTypes.Describe(type);
            partitions.Add(new Partition(i + 1, first * sectorSize, (last - first + 1) * sectorSize, kind, typeName, null, type, unique.ToString(), name));
        }
        table = new PartitionTable(PartitionScheme.Gpt, partitions, diskGuid.ToString(), []);
        return null;
    }
}
