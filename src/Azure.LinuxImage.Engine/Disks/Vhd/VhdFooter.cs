using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.Disks.Vhd;

public enum VhdDiskType : uint
{
    None = 0,
    Fixed = 2,
    Dynamic = 3,
    Differencing = 4,
}

/// <summary>
/// The 512-byte VHD footer (VHD specification, "Hard Disk Footer Format"), all fields big-endian.
/// A fixed disk is its data followed by exactly this footer; dynamic disks also keep a copy at offset 0.
/// </summary>
public sealed record VhdFooter
{
    public const int Size = 512;
    public const uint FeaturesReserved = 0x00000002;
    public const uint Version1 = 0x00010000;
    public const ulong FixedDataOffset = ulong.MaxValue;
    public const uint HostWindows = 0x5769326B; // "Wi2k"

    public static ReadOnlySpan<byte> Cookie => "conectix"u8;

    /// <summary>
    /// The creator application this product writes. Readers disagree on whether the footer's size or
    /// its CHS geometry is the disk's size; qemu trusts the size only for a fixed list of creators
    /// (Hyper-V's "win ", "qem2", "d2v ", ...), Virtual PC trusts geometry. Writing Hyper-V's tag makes
    /// every reader, Azure's included, take the exact size we state (R3).
    /// </summary>
    public const string ProductCreator = "win ";

    public static readonly DateTime Epoch = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public uint Features { get; init; } = FeaturesReserved;

    public uint FormatVersion { get; init; } = Version1;

    public ulong DataOffset { get; init; } = FixedDataOffset;

    public uint TimeStamp { get; init; }

    public string CreatorApplication { get; init; } = ProductCreator;

    public uint CreatorVersion { get; init; } = 0x000A0000;

    public uint CreatorHostOs { get; init; } = HostWindows;

    public ulong OriginalSize { get; init; }

    public ulong CurrentSize { get; init; }

    public VhdGeometry Geometry { get; init; }

    public VhdDiskType DiskType { get; init; }

    public uint Checksum { get; init; }

    public Guid UniqueId { get; init; }

    public byte SavedState { get; init; }

    public static bool HasCookie(ReadOnlySpan<byte> sector) => sector.Length >= 8 && sector[..8].SequenceEqual(Cookie);

    /// <summary>The footer of a fixed disk of <paramref name="size"/> bytes, checksum included.</summary>
    public static VhdFooter CreateFixed(long size, Guid uniqueId, DateTime timestampUtc)
    {
        var footer = new VhdFooter
        {
            TimeStamp = (uint)Math.Clamp((long)(timestampUtc - Epoch).TotalSeconds, 0, uint.MaxValue),
            OriginalSize = (ulong)size,
            CurrentSize = (ulong)size,
            Geometry = VhdGeometry.FromSize(size),
            DiskType = VhdDiskType.Fixed,
            UniqueId = uniqueId,
        };
        Span<byte> bytes = stackalloc byte[Size];
        footer.WriteTo(bytes, computeChecksum: true);
        return footer with { Checksum = BinaryPrimitives.ReadUInt32BigEndian(bytes[64..]) };
    }

    public static VhdFooter Parse(ReadOnlySpan<byte> b)
    {
        if (b.Length < Size)
        {
            throw new ArgumentException("A VHD footer is 512 bytes.", nameof(b));
        }
        return new VhdFooter
        {
            Features = BinaryPrimitives.ReadUInt32BigEndian(b[8..]),
            FormatVersion = BinaryPrimitives.ReadUInt32BigEndian(b[12..]),
            DataOffset = BinaryPrimitives.ReadUInt64BigEndian(b[16..]),
            TimeStamp = BinaryPrimitives.ReadUInt32BigEndian(b[24..]),
            CreatorApplication = Encoding.ASCII.GetString(b.Slice(28, 4)),
            CreatorVersion = BinaryPrimitives.ReadUInt32BigEndian(b[32..]),
            CreatorHostOs = BinaryPrimitives.ReadUInt32BigEndian(b[36..]),
            OriginalSize = BinaryPrimitives.ReadUInt64BigEndian(b[40..]),
            CurrentSize = BinaryPrimitives.ReadUInt64BigEndian(b[48..]),
            Geometry = new VhdGeometry(BinaryPrimitives.ReadUInt16BigEndian(b[56..]), b[58], b[59]),
            DiskType = (VhdDiskType)BinaryPrimitives.ReadUInt32BigEndian(b[60..]),
            Checksum = BinaryPrimitives.ReadUInt32BigEndian(b[64..]),
            UniqueId = new Guid(b.Slice(68, 16), bigEndian: true),
            SavedState = b[84],
        };
    }

    public void WriteTo(Span<byte> b, bool computeChecksum = true)
    {
        b[..Size].Clear();
        Cookie.CopyTo(b);
        BinaryPrimitives.WriteUInt32BigEndian(b[8..], Features);
        BinaryPrimitives.WriteUInt32BigEndian(b[12..], FormatVersion);
        BinaryPrimitives.WriteUInt64BigEndian(b[16..], DataOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b[24..], TimeStamp);
        Encoding.ASCII.GetBytes(CreatorApplication.PadRight(4).AsSpan(0, 4), b.Slice(28, 4));
        BinaryPrimitives.WriteUInt32BigEndian(b[32..], CreatorVersion);
        BinaryPrimitives.WriteUInt32BigEndian(b[36..], CreatorHostOs);
        BinaryPrimitives.WriteUInt64BigEndian(b[40..], OriginalSize);
        BinaryPrimitives.WriteUInt64BigEndian(b[48..], CurrentSize);
        BinaryPrimitives.WriteUInt16BigEndian(b[56..], Geometry.Cylinders);
        b[58] = Geometry.Heads;
        b[59] = Geometry.SectorsPerTrack;
        BinaryPrimitives.WriteUInt32BigEndian(b[60..], (uint)DiskType);
        UniqueId.TryWriteBytes(b.Slice(68, 16), bigEndian: true, out _);
        b[84] = SavedState;
        BinaryPrimitives.WriteUInt32BigEndian(b[64..], computeChecksum ? ComputeChecksum(b) : Checksum);
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[Size];
        WriteTo(bytes, computeChecksum: true);
        return bytes;
    }

    /// <summary>One's complement of the byte sum of the footer with the checksum field taken as zero.</summary>
    public static uint ComputeChecksum(ReadOnlySpan<byte> footer) => VhdChecksum.Compute(footer[..Size], 64);
}
