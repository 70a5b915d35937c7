using System.Buffers.Binary;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// The group descriptor table, kept raw (32 or 64 bytes per group) so that writing a descriptor
/// back preserves the fields we do not use.
/// </summary>
internal sealed class Ext4GroupDescriptors
{
    public const ushort FlagInodeUninit = 0x1, FlagBlockUninit = 0x2, FlagInodeTableZeroed = 0x4;

    private readonly byte[] raw;

    public Ext4GroupDescriptors(byte[] raw, int descriptorSize, uint count)
    {
        this.raw = raw;
        DescriptorSize = descriptorSize;
        Count = count;
    }

    public int DescriptorSize { get; }

    public uint Count { get; }

    public Span<byte> Raw(uint group) => raw.AsSpan((int)(group * DescriptorSize), DescriptorSize);

    private bool Wide => DescriptorSize >= 64;

    private ulong Get64(uint g, int lo, int hi) => BinaryPrimitives.ReadUInt32LittleEndian(Raw(g)[lo..]) | (Wide ? (ulong)BinaryPrimitives.ReadUInt32LittleEndian(Raw(g)[hi..]) << 32 : 0);

    private uint Get32(uint g, int lo, int hi) => BinaryPrimitives.ReadUInt16LittleEndian(Raw(g)[lo..]) | (Wide ? (uint)BinaryPrimitives.ReadUInt16LittleEndian(Raw(g)[hi..]) << 16 : 0);

    private void Set32(uint g, int lo, int hi, uint value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(Raw(g)[lo..], (ushort)value);
        if (Wide)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(Raw(g)[hi..], (ushort)(value >> 16));
        }
    }

    public ulong BlockBitmap(uint g) => Get64(g, 0x0, 0x20);

    public ulong InodeBitmap(uint g) => Get64(g, 0x4, 0x24);

    public ulong InodeTable(uint g) => Get64(g, 0x8, 0x28);

    public uint FreeBlocks(uint g) => Get32(g, 0xC, 0x2C);

    public void SetFreeBlocks(uint g, uint v) => Set32(g, 0xC, 0x2C, v);

    public uint FreeInodes(uint g) => Get32(g, 0xE, 0x2E);

    public void SetFreeInodes(uint g, uint v) => Set32(g, 0xE, 0x2E, v);

    public uint UsedDirs(uint g) => Get32(g, 0x10, 0x30);

    public void SetUsedDirs(uint g, uint v) => Set32(g, 0x10, 0x30, v);

    public ushort Flags(uint g) => BinaryPrimitives.ReadUInt16LittleEndian(Raw(g)[0x12..]);

    public void SetFlags(uint g, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(Raw(g)[0x12..], v);

    public uint ItableUnused(uint g) => Get32(g, 0x1C, 0x32);

    public void SetItableUnused(uint g, uint v) => Set32(g, 0x1C, 0x32, v);

    public ushort StoredChecksum(uint g) => BinaryPrimitives.ReadUInt16LittleEndian(Raw(g)[0x1E..]);

    public bool BlockBitmapChecksumMatches(uint g, uint csum) =>
        BinaryPrimitives.ReadUInt16LittleEndian(Raw(g)[0x18..]) == (ushort)csum &&
        (DescriptorSize < 0x3C || BinaryPrimitives.ReadUInt16LittleEndian(Raw(g)[0x38..]) == (ushort)(csum >> 16));

    public bool InodeBitmapChecksumMatches(uint g, uint csum) =>
        BinaryPrimitives.ReadUInt16LittleEndian(Raw(g)[0x1A..]) == (ushort)csum &&
        (DescriptorSize < 0x3C || BinaryPrimitives.ReadUInt16LittleEndian(Raw(g)[0x3A..]) == (ushort)(csum >> 16));

    public void SetBlockBitmapChecksum(uint g, uint csum)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(Raw(g)[0x18..], (ushort)csum);
        if (DescriptorSize >= 0x3C)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(Raw(g)[0x38..], (ushort)(csum >> 16));
        }
    }

    public void SetInodeBitmapChecksum(uint g, uint csum)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(Raw(g)[0x1A..], (ushort)csum);
        if (DescriptorSize >= 0x3C)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(Raw(g)[0x3A..], (ushort)(csum >> 16));
        }
    }

    /// <summary>The descriptor checksum: crc32c low 16 bits with metadata_csum, crc16 with gdt_csum, else none.</summary>
    public ushort ComputeChecksum(uint g, Ext4Superblock sb, uint csumSeed)
    {
        var d = Raw(g);
        Span<byte> le = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(le, g);
        if (sb.HasMetadataCsum)
        {
            uint c = Crc32C.Update(csumSeed, le);
            c = Crc32C.Update(c, d[..0x1E]);
            c = Crc32C.Update(c, [0, 0]);
            if (DescriptorSize > 0x20)
            {
                c = Crc32C.Update(c, d[0x20..]);
            }
            return (ushort)c;
        }
        if (sb.HasGdtCsum)
        {
            ushort c = Ext4Crc16.Update(0xFFFF, sb.UuidBytes);
            c = Ext4Crc16.Update(c, le);
            c = Ext4Crc16.Update(c, d[..0x1E]);
            if (DescriptorSize > 0x20)
            {
                c = Ext4Crc16.Update(c, d[0x20..]);
            }
            return c;
        }
        return 0;
    }

    public void UpdateChecksum(uint g, Ext4Superblock sb, uint csumSeed)
    {
        if (sb.HasMetadataCsum || sb.HasGdtCsum)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(Raw(g)[0x1E..], ComputeChecksum(g, sb, csumSeed));
        }
    }
}
