using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.FileSystems.Fat;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Engine.Partitions;

namespace Azure.LinuxImage.Engine.Validation.Boot;

/// <summary>The Hyper-V generation an Azure image is made for.</summary>
public enum HyperVGeneration
{
    /// <summary>Not set: detected from the disk and reported.</summary>
    Detect,
    V1,
    V2,
}

/// <summary>Azure's VM security type; TrustedLaunch turns Secure Boot on.</summary>
public enum AzureSecurityType
{
    Standard,
    TrustedLaunch,
}

/// <summary>A removable-media loader found on an EFI system partition.</summary>
public sealed record EfiLoader(string Path, BootArchitecture Architecture, byte[] Content);

/// <summary>One EFI system partition: its loaders, or why its FAT could not be read.</summary>
public sealed record EfiSystemPartition(Partition Partition, IReadOnlyList<EfiLoader> Loaders, LinuxImageException? Error)
{
    public string Name => $"partition {Partition.Number}";
}

/// <summary>
/// How a disk can start, as firmware sees it (no guest fstab: the firmware finds the ESP by its
/// partition type): BIOS boot code in the MBR (and a BIOS boot partition on GPT for GRUB's core
/// image), and EFI system partitions with the removable-media loaders a VM with empty NVRAM runs.
/// </summary>
public sealed class BootLayout
{
    /// <summary>The loaders UEFI firmware falls back to, by architecture (UEFI specification, "Removable Media Boot Behavior").</summary>
    public static IReadOnlyList<(string Path, BootArchitecture Architecture)> FallbackLoaders { get; } =
    [
        ("EFI/BOOT/BOOTX64.EFI", BootArchitecture.X64),
        ("EFI/BOOT/BOOTAA64.EFI", BootArchitecture.Arm64),
    ];

    private BootLayout(PartitionScheme scheme, bool mbrBootCode, bool biosBootPartition, IReadOnlyList<EfiSystemPartition> esps)
    {
        Scheme = scheme;
        MbrBootCode = mbrBootCode;
        BiosBootPartition = biosBootPartition;
        EfiSystemPartitions = esps;
    }

    public PartitionScheme Scheme { get; }

    /// <summary>The first 440 bytes of the disk hold code (an empty or zeroed MBR boot area cannot start anything).</summary>
    public bool MbrBootCode { get; }

    public bool BiosBootPartition { get; }

    public IReadOnlyList<EfiSystemPartition> EfiSystemPartitions { get; }

    /// <summary>BIOS can start it: boot code, and on GPT a BIOS boot partition where GRUB keeps its core image.</summary>
    public bool BiosBootable => MbrBootCode && (Scheme == PartitionScheme.Mbr || BiosBootPartition);

    /// <summary>UEFI with empty NVRAM can start it for <paramref name="architecture"/>.</summary>
    public bool UefiBootable(BootArchitecture architecture) => Scheme == PartitionScheme.Gpt && Loader(architecture) is not null;

    public EfiLoader? Loader(BootArchitecture architecture) =>
        EfiSystemPartitions.Where(e => e.Partition.GptType is not null).SelectMany(e => e.Loaders).FirstOrDefault(l => l.Architecture == architecture);

    public string Describe(BootArchitecture architecture)
    {
        var parts = new List<string>();
        if (BiosBootable)
        {
            parts.Add(Scheme == PartitionScheme.Gpt ? "BIOS boot code in the protective MBR with a BIOS boot partition" : "BIOS boot code in the MBR");
        }
        if (Loader(architecture) is { } loader)
        {
            var esp = EfiSystemPartitions.First(e => e.Loaders.Contains(loader));
            parts.Add($"an EFI system partition ({esp.Name}) with {loader.Path}");
        }
        return parts.Count == 0 ? "nothing" : string.Join(" and ", parts);
    }

    public static BootLayout Inspect(IReadableVolume disk, string source)
    {
        ArgumentNullException.ThrowIfNull(disk);
        var table = PartitionTableReader.Read(disk, source);
        bool code = false;
        if (disk.Length >= 512)
        {
            var mbr = disk.ReadBytes(0, 440);
            code = mbr.AsSpan().ContainsAnyExcept((byte)0);
        }
        var esps = new List<EfiSystemPartition>();
        foreach (var p in table.Partitions.Where(p => p.Kind == PartitionKind.EfiSystem))
        {
            try
            {
                var fs = FatFileSystem.Open(PartitionTableReader.Open(disk, p), $"{source} (partition {p.Number})");
                var loaders = new List<EfiLoader>();
                foreach (var (path, arch) in FallbackLoaders)
                {
                    ulong? node = fs.RootNode;
                    foreach (string part in path.Split('/'))
                    {
                        node = node is ulong n && fs.Stat(n).Kind == FileSystems.FileSystemNodeKind.Directory ? fs.Lookup(n, part) : null;
                    }
                    if (node is ulong file && fs.Stat(file).Kind == FileSystems.FileSystemNodeKind.File)
                    {
                        loaders.Add(new EfiLoader(path, arch, fs.ReadFile(file)));
                    }
                }
                esps.Add(new EfiSystemPartition(p, loaders, null));
            }
            catch (LinuxImageException e)
            {
                esps.Add(new EfiSystemPartition(p, [], e));
            }
        }
        return new BootLayout(table.Scheme, code, table.Partitions.Any(p => p.Kind == PartitionKind.BiosBoot), esps);
    }
}
