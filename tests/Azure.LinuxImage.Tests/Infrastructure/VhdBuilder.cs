using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>
/// Writes differencing VHDs by hand from the VHD specification: no tool on Linux creates them
/// (qemu-img cannot), and Hyper-V is what users make them with.
/// </summary>
public static class VhdBuilder
{
    private const int BlockSize = 2 * 1024 * 1024;

    public static void CreateDifferencing(string path, string parentPath, IReadOnlyList<(long Offset, byte[] Data)> writes, string? locatorOverride = null)
    {
        var parentFooter = new byte[512];
        using (var p = File.OpenRead(parentPath))
        {
            p.Position = p.Length - 512;
            p.ReadExactly(parentFooter);
        }
        long size = (long)BinaryPrimitives.ReadUInt64BigEndian(parentFooter.AsSpan(48));
        var parentId = parentFooter.AsSpan(68, 16).ToArray();
        int blocks = (int)((size + BlockSize - 1) / BlockSize);
        int batBytes = (blocks * 4 + 511) / 512 * 512;
        string relative = locatorOverride ?? (".\\" + Path.GetFileName(parentPath));
        byte[] locator = Encoding.Unicode.GetBytes(relative);
        int locatorSpace = (locator.Length + 511) / 512 * 512;
        long tableOffset = 1536;
        long locatorOffset = tableOffset + batBytes;
        long nextBlock = locatorOffset + locatorSpace;

        var footer = new byte[512];
        "conectix"u8.CopyTo(footer);
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(8), 2);
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(12), 0x00010000);
        BinaryPrimitives.WriteUInt64BigEndian(footer.AsSpan(16), 512);
        "win "u8.CopyTo(footer.AsSpan(28));
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(36), 0x5769326B);
        BinaryPrimitives.WriteUInt64BigEndian(footer.AsSpan(40), (ulong)size);
        BinaryPrimitives.WriteUInt64BigEndian(footer.AsSpan(48), (ulong)size);
        parentFooter.AsSpan(56, 4).CopyTo(footer.AsSpan(56));
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(60), 4);
        Guid.NewGuid().TryWriteBytes(footer.AsSpan(68, 16));
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(64), Checksum(footer, 64));

        var header = new byte[1024];
        "cxsparse"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(8), ulong.MaxValue);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(16), (ulong)tableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(24), 0x00010000);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(28), (uint)blocks);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(32), BlockSize);
        parentId.CopyTo(header.AsSpan(40));
        Encoding.BigEndianUnicode.GetBytes(Path.GetFileName(parentPath)).CopyTo(header.AsSpan(64));
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(576), 0x57327275); // W2ru
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(580), (uint)locatorSpace);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(584), (uint)locator.Length);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(592), (ulong)locatorOffset);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(36), Checksum(header, 36));

        var bat = Enumerable.Repeat(0xFFFFFFFFu, blocks).ToArray();
        var blockData = new SortedDictionary<int, (byte[] Bitmap, byte[] Data)>();
        foreach (var (offset, data) in writes)
        {
            for (int i = 0; i < data.Length; i += 512)
            {
                long sectorOffset = offset + i;
                int block = (int)(sectorOffset / BlockSize);
                if (!blockData.TryGetValue(block, out var b))
                {
                    b = (new byte[512], new byte[BlockSize]);
                    blockData[block] = b;
                }
                int sector = (int)(sectorOffset % BlockSize / 512);
                b.Bitmap[sector / 8] |= (byte)(0x80 >> (sector % 8));
                data.AsSpan(i, 512).CopyTo(b.Data.AsSpan(sector * 512));
            }
        }
        using var s = new FileStream(path, FileMode.Create);
        s.Write(footer);
        s.Write(header);
        s.Position = locatorOffset;
        s.Write(locator);
        foreach (var (block, (bitmap, data)) in blockData)
        {
            bat[block] = (uint)(nextBlock / 512);
            s.Position = nextBlock;
            s.Write(bitmap);
            s.Write(data);
            nextBlock += 512 + BlockSize;
        }
        var batBuffer = new byte[batBytes];
        for (int i = 0; i < blocks; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(batBuffer.AsSpan(i * 4), bat[i]);
        }
        s.Position = tableOffset;
        s.Write(batBuffer);
        s.Position = nextBlock;
        s.Write(footer);
    }

    private static uint Checksum(byte[] bytes, int checksumOffset)
    {
        uint sum = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            if (i < checksumOffset || i >= checksumOffset + 4)
            {
                sum += bytes[i];
            }
        }
        return ~sum;
    }
}
