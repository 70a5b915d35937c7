using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.FileSystems.Btrfs;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Fuzz;

/// <summary>
/// The btrfs reader as a fuzz target: opens the input as a btrfs volume (default subvolume and the
/// top level), walks every directory, stats every node and reads every file, link and xattr
/// within a budget. Mutations aim at tree blocks and the superblock, and most of them store valid
/// checksums again afterwards, so damage gets past the checksum check into the parsers behind it.
/// </summary>
internal static class BtrfsTarget
{
    private const int SuperblockOffset = 0x10000;

    public static string Exercise(string path)
    {
        using var volume = FileVolume.OpenRead(path);
        IFileSystemType type = BtrfsFileSystemType.Instance;
        bool probed = type.Probe(volume);
        type.Identify(volume);
        FileSystemWalk.OpenAndWalk(type, volume, path, string.Empty, "subvolid=5");
        return probed ? "read" : "read-unprobed";
    }

    /// <summary>A mutation of a btrfs seed: mostly inside one tree block or the superblock, mostly with checksums made valid again.</summary>
    public static byte[] Mutate(byte[] seed, Random random)
    {
        var blocks = Blocks(seed);
        byte[] data;
        int choice = random.Next(10);
        if (choice < 7 && blocks.Count > 0)
        {
            data = (byte[])seed.Clone();
            var (offset, length) = random.Next(5) == 0 ? (SuperblockOffset, 4096) : blocks[random.Next(blocks.Count)];
            var mutated = Mutator.Mutate(data.AsSpan(offset, length).ToArray(), random);
            mutated.AsSpan(0, Math.Min(mutated.Length, length)).CopyTo(data.AsSpan(offset));
        }
        else
        {
            data = Mutator.Mutate(seed, random);
        }
        if (choice < 9)
        {
            FixChecksums(data);
        }
        return data;
    }

    private static readonly Dictionary<byte[], List<(int Offset, int Length)>> BlockCache = new(ReferenceEqualityComparer.Instance);

    /// <summary>Where the seed's tree blocks are: sector-aligned blocks that carry the file system's fsid.</summary>
    private static List<(int Offset, int Length)> Blocks(byte[] seed)
    {
        if (BlockCache.TryGetValue(seed, out var cached))
        {
            return cached;
        }
        var result = new List<(int, int)>();
        if (seed.Length >= SuperblockOffset + 4096 && seed.AsSpan(SuperblockOffset + 0x40, 8).SequenceEqual("_BHRfS_M"u8))
        {
            int nodeSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(seed.AsSpan(SuperblockOffset + 0x94));
            var fsid = seed.AsSpan(SuperblockOffset + 0x20, 16);
            if (nodeSize is >= 4096 and <= 65536)
            {
                for (int at = 0; at + nodeSize <= seed.Length; at += 4096)
                {
                    if (at != SuperblockOffset && seed.AsSpan(at + 0x20, 16).SequenceEqual(fsid))
                    {
                        result.Add((at, nodeSize));
                    }
                }
            }
        }
        BlockCache[seed] = result;
        return result;
    }

    /// <summary>Stores valid checksums in the superblock and every block that carries its fsid (so the parsers behind the checks are reached).</summary>
    public static void FixChecksums(byte[] data)
    {
        if (data.Length < SuperblockOffset + 4096)
        {
            return;
        }
        var sb = data.AsSpan(SuperblockOffset, 4096);
        int nodeSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(sb[0x94..]);
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(sb[0xc4..]);
        var fsid = sb.Slice(0x20, 16).ToArray();
        if (nodeSize is >= 4096 and <= 65536)
        {
            for (int at = 0; at + nodeSize <= data.Length; at += 4096)
            {
                if (at != SuperblockOffset && data.AsSpan(at + 0x20, 16).SequenceEqual(fsid))
                {
                    Store(data.AsSpan(at, nodeSize), type);
                }
            }
        }
        Store(sb, type);
    }

    private static void Store(Span<byte> block, ushort type)
    {
        var csum = block[..32];
        var body = block[32..];
        csum.Clear();
        switch (type)
        {
            case 0:
                BinaryPrimitives.WriteUInt32LittleEndian(csum, Crc32C.Compute(body));
                break;
            case 1:
                BinaryPrimitives.WriteUInt64LittleEndian(csum, XxHash64.HashToUInt64(body));
                break;
            case 2:
                SHA256.HashData(body, csum);
                break;
            default:
                break;
        }
    }
}
