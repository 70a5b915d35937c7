namespace Azure.LinuxImage.Engine.Partitions;

/// <summary>What a partition is for, as far as the guest's configuration cares.</summary>
public enum PartitionKind
{
    Unknown,
    LinuxFileSystem,
    LinuxSwap,
    LinuxLvm,
    LinuxRaid,
    EfiSystem,
    BiosBoot,
    Extended,
    Microsoft,
    Empty,
}

/// <summary>Names of MBR type bytes and GPT type GUIDs.</summary>
public static class PartitionTypes
{
    private static readonly Dictionary<Guid, (PartitionKind Kind, string Name)> GptTypes = new()
    {
        [new Guid("0FC63DAF-8483-4772-8E79-3D69D8477DE4")] = (PartitionKind.LinuxFileSystem, "Linux filesystem"),
        [new Guid("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709")] = (PartitionKind.LinuxFileSystem, "Linux root (x86-64)"),
        [new Guid("44479540-F297-41B2-9AF7-D131D5F0458A")] = (PartitionKind.LinuxFileSystem, "Linux root (x86)"),
        [new Guid("B921B045-1DF0-41C3-AF44-4C6F280D3FAE")] = (PartitionKind.LinuxFileSystem, "Linux root (ARM64)"),
        [new Guid("933AC7E1-2EB4-4F13-B844-0E14E2AEF915")] = (PartitionKind.LinuxFileSystem, "Linux home"),
        [new Guid("BC13C2FF-59E6-4262-A352-B275FD6F7172")] = (PartitionKind.LinuxFileSystem, "Linux extended boot"),
        [new Guid("0657FD6D-A4AB-43C4-84E5-0933C84B4F4F")] = (PartitionKind.LinuxSwap, "Linux swap"),
        [new Guid("E6D6D379-F507-44C2-A23C-238F2A3DF928")] = (PartitionKind.LinuxLvm, "Linux LVM"),
        [new Guid("A19D880F-05FC-4D3B-A006-743F0F84911E")] = (PartitionKind.LinuxRaid, "Linux RAID"),
        [new Guid("C12A7328-F81F-11D2-BA4B-00A0C93EC93B")] = (PartitionKind.EfiSystem, "EFI System"),
        [new Guid("21686148-6449-6E6F-744E-656564454649")] = (PartitionKind.BiosBoot, "BIOS boot"),
        [new Guid("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7")] = (PartitionKind.Microsoft, "Microsoft basic data"),
        [new Guid("E3C9E316-0B5C-4DB8-817D-F92DF00215AE")] = (PartitionKind.Microsoft, "Microsoft reserved"),
    };

    public static (PartitionKind Kind, string Name) Describe(Guid gptType) =>
        gptType == Guid.Empty ? (PartitionKind.Empty, "Empty")
        : GptTypes.TryGetValue(gptType, out var t) ? t : (PartitionKind.Unknown, $"GPT type {gptType.ToString().ToUpperInvariant()}");

    public static (PartitionKind Kind, string Name) Describe(byte mbrType) => mbrType switch
    {
        0x00 => (PartitionKind.Empty, "Empty"),
        0x83 => (PartitionKind.LinuxFileSystem, "Linux"),
        0x82 => (PartitionKind.LinuxSwap, "Linux swap"),
        0x8E => (PartitionKind.LinuxLvm, "Linux LVM"),
        0xFD => (PartitionKind.LinuxRaid, "Linux RAID autodetect"),
        0xEF => (PartitionKind.EfiSystem, "EFI System"),
        0x05 => (PartitionKind.Extended, "Extended"),
        0x0F => (PartitionKind.Extended, "Extended (LBA)"),
        0x85 => (PartitionKind.Extended, "Linux extended"),
        0x07 => (PartitionKind.Microsoft, "HPFS/NTFS/exFAT"),
        0x0B => (PartitionKind.Microsoft, "W95 FAT32"),
        0x0C => (PartitionKind.Microsoft, "W95 FAT32 (LBA)"),
        0x06 => (PartitionKind.Microsoft, "FAT16"),
        0xEE => (PartitionKind.Unknown, "GPT protective"),
        _ => (PartitionKind.Unknown, $"MBR type 0x{mbrType:X2}"),
    };

    public static bool IsExtended(byte mbrType) => mbrType is 0x05 or 0x0F or 0x85;
}

/// <summary>One partition: where it is, what it is, and the identifiers fstab may name it by.</summary>
public sealed record Partition(
    int Number,
    long Offset,
    long Length,
    PartitionKind Kind,
    string TypeName,
    byte? MbrType,
    Guid? GptType,
    string? PartUuid,
    string? Name)
{
    public bool IsSwap => Kind == PartitionKind.LinuxSwap;

    public bool IsLvm => Kind == PartitionKind.LinuxLvm;
}

public enum PartitionScheme
{
    None,
    Mbr,
    Gpt,
}

/// <summary>The disk's partition table (or none: a whole-disk file system).</summary>
public sealed record PartitionTable(PartitionScheme Scheme, IReadOnlyList<Partition> Partitions, string? DiskIdentifier, IReadOnlyList<string> Warnings);
