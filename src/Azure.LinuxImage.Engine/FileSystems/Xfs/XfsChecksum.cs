using System.Buffers.Binary;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// XFS metadata CRCs (xfs_cksum.h): CRC-32C from ~0 over the buffer with the CRC field taken as
/// zero, stored inverted and little-endian.
/// </summary>
internal static class XfsChecksum
{
    public static uint Compute(ReadOnlySpan<byte> buffer, int crcOffset)
    {
        uint crc = Crc32C.Update(~0u, buffer[..crcOffset]);
        crc = Crc32C.Update(crc, [0, 0, 0, 0]);
        crc = Crc32C.Update(crc, buffer[(crcOffset + 4)..]);
        return ~crc;
    }

    public static bool Verify(ReadOnlySpan<byte> buffer, int crcOffset) =>
        crcOffset + 4 <= buffer.Length && BinaryPrimitives.ReadUInt32LittleEndian(buffer[crcOffset..]) == Compute(buffer, crcOffset);

    public static void Update(Span<byte> buffer, int crcOffset) =>
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[crcOffset..], Compute(buffer, crcOffset));
}
