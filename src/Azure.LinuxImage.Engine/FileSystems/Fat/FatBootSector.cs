using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.FileSystems.Fat;

public enum FatKind
{
    Fat12,
    Fat16,
    Fat32,
}

/// <summary>
/// The BIOS parameter block of a FAT volume (Microsoft's FAT specification, "fatgen103"): where the
/// FATs, the root directory and the data area lie. The FAT type follows from the cluster count
/// alone, as the specification requires (never from the type string).
/// </summary>
public sealed class FatBootSector
{
    public const int Size = 512;

    private FatBootSector()
    {
    }

    public int BytesPerSector { get; private init; }

    public int SectorsPerCluster { get; private init; }

    public int ReservedSectors { get; private init; }

    public int FatCount { get; private init; }

    public int RootEntryCount { get; private init; }

    public long TotalSectors { get; private init; }

    public long SectorsPerFat { get; private init; }

    public uint RootCluster { get; private init; }

    public int FsInfoSector { get; private init; }

    public uint VolumeSerial { get; private init; }

    public string? Label { get; private init; }

    public FatKind Kind { get; private init; }

    /// <summary>Data clusters; valid cluster numbers are 2 .. ClusterCount + 1.</summary>
    public uint ClusterCount { get; private init; }

    public int ClusterSize => BytesPerSector * SectorsPerCluster;

    public long FatOffset => (long)ReservedSectors * BytesPerSector;

    public long FatBytes => SectorsPerFat * BytesPerSector;

    public long RootDirOffset => FatOffset + (FatCount * FatBytes);

    public int RootDirBytes => RootEntryCount * 32;

    public long DataOffset => RootDirOffset + ((RootDirBytes + BytesPerSector - 1) / BytesPerSector * (long)BytesPerSector);

    public long ClusterOffset(uint cluster) => DataOffset + ((long)(cluster - 2) * ClusterSize);

    /// <summary>Cheap recognition: the signature and a plausible BPB.</summary>
    public static bool Probe(ReadOnlySpan<byte> sector) => TryParse(sector, long.MaxValue, out _) is not null;

    /// <summary>Parses and checks the boot sector against a volume of <paramref name="volumeLength"/> bytes; null with the reason when it is not a usable FAT boot sector.</summary>
    public static FatBootSector? TryParse(ReadOnlySpan<byte> s, long volumeLength, out string problem)
    {
        if (s.Length < Size)
        {
            problem = "the volume is smaller than one boot sector";
            return null;
        }
        if (s[510] != 0x55 || s[511] != 0xAA)
        {
            problem = "the boot sector lacks its 55 AA signature";
            return null;
        }
        if (s[0] != 0xEB && s[0] != 0xE9)
        {
            problem = $"the boot sector starts with 0x{s[0]:X2}, not a jump instruction";
            return null;
        }
        int bps = BinaryPrimitives.ReadUInt16LittleEndian(s[11..]);
        int spc = s[13];
        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(s[14..]);
        int fats = s[16];
        int rootEntries = BinaryPrimitives.ReadUInt16LittleEndian(s[17..]);
        long total = BinaryPrimitives.ReadUInt16LittleEndian(s[19..]);
        long fatSize = BinaryPrimitives.ReadUInt16LittleEndian(s[22..]);
        if (total == 0)
        {
            total = BinaryPrimitives.ReadUInt32LittleEndian(s[32..]);
        }
        bool fat32Layout = fatSize == 0;
        if (fat32Layout)
        {
            fatSize = BinaryPrimitives.ReadUInt32LittleEndian(s[36..]);
        }
        if (bps is not (512 or 1024 or 2048 or 4096))
        {
            problem = $"{bps} bytes per sector (512, 1024, 2048 or 4096 expected)";
            return null;
        }
        if (spc == 0 || (spc & (spc - 1)) != 0)
        {
            problem = $"{spc} sectors per cluster (a power of two expected)";
            return null;
        }
        if ((long)spc * bps > 64 * 1024)
        {
            problem = $"clusters of {spc * bps} bytes (at most 64 KiB)";
            return null;
        }
        if (reserved == 0 || fats is < 1 or > 4 || fatSize == 0 || total == 0)
        {
            problem = $"impossible counts ({reserved} reserved sectors, {fats} FATs of {fatSize} sectors, {total} sectors)";
            return null;
        }
        if (fat32Layout && rootEntries != 0)
        {
            problem = "a FAT32 boot sector with a fixed root directory";
            return null;
        }
        long rootSectors = ((rootEntries * 32L) + bps - 1) / bps;
        long metadata = reserved + (fats * fatSize) + rootSectors;
        if (metadata >= total)
        {
            problem = $"the FATs and root directory ({metadata} sectors) fill the whole file system ({total} sectors)";
            return null;
        }
        if (total > volumeLength / bps)
        {
            problem = $"the boot sector claims {total} sectors of {bps} bytes but the volume holds only {volumeLength} bytes";
            return null;
        }
        long clusters = (total - metadata) / spc;
        var kind = clusters < 4085 ? FatKind.Fat12 : clusters < 65525 ? FatKind.Fat16 : FatKind.Fat32;
        if ((kind == FatKind.Fat32) != fat32Layout)
        {
            problem = $"{clusters} clusters make it {kind}, but the boot sector has the {(fat32Layout ? "FAT32" : "FAT12/16")} layout";
            return null;
        }
        if (clusters > 0x0FFFFFF5)
        {
            problem = $"{clusters} clusters exceed FAT32's limit";
            return null;
        }
        long neededFatBytes = kind switch
        {
            FatKind.Fat12 => ((clusters + 2) * 3 + 1) / 2,
            FatKind.Fat16 => (clusters + 2) * 2,
            _ => (clusters + 2) * 4,
        };
        if (fatSize * bps < neededFatBytes)
        {
            problem = $"a FAT of {fatSize * bps} bytes cannot describe {clusters} clusters";
            return null;
        }
        uint rootCluster = 0;
        int fsInfo = 0;
        int labelOffset = 43;
        int serialOffset = 39;
        int signatureOffset = 38;
        if (kind == FatKind.Fat32)
        {
            rootCluster = BinaryPrimitives.ReadUInt32LittleEndian(s[44..]);
            fsInfo = BinaryPrimitives.ReadUInt16LittleEndian(s[48..]);
            if (rootCluster < 2 || rootCluster > clusters + 1)
            {
                problem = $"the root directory cluster {rootCluster} lies outside the data area (2..{clusters + 1})";
                return null;
            }
            labelOffset = 71;
            serialOffset = 67;
            signatureOffset = 66;
        }
        bool extended = s[signatureOffset] is 0x28 or 0x29;
        string? label = null;
        if (s[signatureOffset] == 0x29)
        {
            label = Encoding.ASCII.GetString(s.Slice(labelOffset, 11)).TrimEnd(' ', '\0');
            if (label.Length == 0 || label == "NO NAME")
            {
                label = null;
            }
        }
        problem = string.Empty;
        return new FatBootSector
        {
            BytesPerSector = bps,
            SectorsPerCluster = spc,
            ReservedSectors = reserved,
            FatCount = fats,
            RootEntryCount = rootEntries,
            TotalSectors = total,
            SectorsPerFat = fatSize,
            RootCluster = rootCluster,
            FsInfoSector = fsInfo,
            VolumeSerial = extended ? BinaryPrimitives.ReadUInt32LittleEndian(s[serialOffset..]) : 0,
            Label = label,
            Kind = kind,
            ClusterCount = (uint)clusters,
        };
    }
}
