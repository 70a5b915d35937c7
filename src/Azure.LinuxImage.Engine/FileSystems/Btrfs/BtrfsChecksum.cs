using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>
/// The checksum a btrfs file system uses for its superblock, tree blocks and data (superblock
/// csum_type). The stored value fills the first bytes of a 32-byte field, the rest is zero.
/// </summary>
internal sealed class BtrfsChecksum
{
    public const int FieldSize = 32;

    private BtrfsChecksum(ushort type, string name, int size)
    {
        Type = type;
        Name = name;
        Size = size;
    }

    public ushort Type { get; }

    public string Name { get; }

    /// <summary>Bytes of the stored value.</summary>
    public int Size { get; }

    /// <summary>The checksum for a csum_type, or null when the SDK does not compute it (the caller refuses).</summary>
    public static BtrfsChecksum? For(ushort type) => type switch
    {
        0 => new BtrfsChecksum(0, "crc32c", 4),
        1 => new BtrfsChecksum(1, "xxhash64", 8),
        2 => new BtrfsChecksum(2, "sha256", 32),
        _ => null,
    };

    public static string NameOf(ushort type) => type switch
    {
        0 => "crc32c",
        1 => "xxhash64",
        2 => "sha256",
        3 => "blake2b",
        _ => $"unknown checksum type {type}",
    };

    public void Compute(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        switch (Type)
        {
            case 0:
                // The kernel's crc32c(~0, ...) finalised with ~, stored little-endian: the standard CRC-32C.
                BinaryPrimitives.WriteUInt32LittleEndian(destination, Crc32C.Compute(data));
                break;
            case 1:
                // The kernel's xxhash64 shash emits the 64-bit value little-endian (XxHash64.Hash gives big-endian bytes).
                BinaryPrimitives.WriteUInt64LittleEndian(destination, XxHash64.HashToUInt64(data));
                break;
            default:
                SHA256.HashData(data, destination);
                break;
        }
    }

    /// <summary>True when <paramref name="stored"/> (at least <see cref="Size"/> bytes) holds the checksum of <paramref name="data"/>.</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> stored)
    {
        Span<byte> computed = stackalloc byte[FieldSize];
        Compute(data, computed);
        return computed[..Size].SequenceEqual(stored[..Size]);
    }
}
