using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.Disks.Vhd;

/// <summary>A parent locator entry of a differencing disk's dynamic header.</summary>
public readonly record struct VhdParentLocator(uint PlatformCode, uint DataSpace, uint DataLength, ulong DataOffset)
{
    public const uint W2ku = 0x57326B75; // absolute Windows path, UTF-16LE
    public const uint W2ru = 0x57327275; // relative Windows path, UTF-16LE
    public const uint MacX = 0x4D616358; // file:// URL, UTF-8
}

/// <summary>The 1024-byte dynamic disk header ("cxsparse") that dynamic and differencing disks point to.</summary>
public sealed record VhdDynamicHeader
{
    public const int Size = 1024;

    public static ReadOnlySpan<byte> Cookie => "cxsparse"u8;

    public ulong TableOffset { get; init; }

    public uint HeaderVersion { get; init; }

    public uint MaxTableEntries { get; init; }

    public uint BlockSize { get; init; }

    public uint Checksum { get; init; }

    public uint ComputedChecksum { get; init; }

    public Guid ParentUniqueId { get; init; }

    public string ParentUnicodeName { get; init; } = string.Empty;

    public IReadOnlyList<VhdParentLocator> ParentLocators { get; init; } = [];

    public static bool HasCookie(ReadOnlySpan<byte> b) => b.Length >= 8 && b[..8].SequenceEqual(Cookie);

    public static VhdDynamicHeader Parse(ReadOnlySpan<byte> b)
    {
        var locators = new List<VhdParentLocator>(8);
        for (int i = 0; i < 8; i++)
        {
            var e = b.Slice(576 + (i * 24), 24);
            locators.Add(new VhdParentLocator(
                BinaryPrimitives.ReadUInt32BigEndian(e),
                BinaryPrimitives.ReadUInt32BigEndian(e[4..]),
                BinaryPrimitives.ReadUInt32BigEndian(e[8..]),
                BinaryPrimitives.ReadUInt64BigEndian(e[16..])));
        }
        string name = Encoding.BigEndianUnicode.GetString(b.Slice(64, 512));
        int nul = name.IndexOf('\0', StringComparison.Ordinal);
        return new VhdDynamicHeader
        {
            TableOffset = BinaryPrimitives.ReadUInt64BigEndian(b[16..]),
            HeaderVersion = BinaryPrimitives.ReadUInt32BigEndian(b[24..]),
            MaxTableEntries = BinaryPrimitives.ReadUInt32BigEndian(b[28..]),
            BlockSize = BinaryPrimitives.ReadUInt32BigEndian(b[32..]),
            Checksum = BinaryPrimitives.ReadUInt32BigEndian(b[36..]),
            ComputedChecksum = VhdChecksum.Compute(b[..Size], 36),
            ParentUniqueId = new Guid(b.Slice(40, 16), bigEndian: true),
            ParentUnicodeName = nul >= 0 ? name[..nul] : name,
            ParentLocators = locators,
        };
    }
}
