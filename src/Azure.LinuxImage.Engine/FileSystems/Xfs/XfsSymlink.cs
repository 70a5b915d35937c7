using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// Symbolic link targets: in the inode (local) or in up to a few blocks (remote). On v5 every
/// extent of a remote target starts with a "XSLM" header (offset, byte count, CRC, owner).
/// </summary>
internal static class XfsSymlink
{
    public const uint Magic = 0x58534C4D; // "XSLM"
    public const int HeaderSize = 56, CrcOffset = 12, MaxLength = 1024;

    public static byte[] Read(XfsFileSystem fs, XfsInode inode)
    {
        if (inode.Size <= 0 || inode.Size > MaxLength)
        {
            throw fs.Damaged($"symbolic link inode {inode.Number} has a target of {inode.Size} bytes");
        }
        int size = (int)inode.Size;
        if (inode.Format == XfsForkFormat.Local)
        {
            var fork = inode.DataFork;
            if (size > fork.Length)
            {
                throw fs.Damaged($"symbolic link inode {inode.Number} claims {size} bytes in a fork of {fork.Length}");
            }
            return fork[..size].ToArray();
        }
        var sb = fs.Superblock;
        var result = new byte[size];
        int done = 0;
        foreach (var e in XfsBmap.Map(fs, inode, attr: false))
        {
            if (done >= size)
            {
                break;
            }
            if (e.Length > 4)
            {
                throw fs.Damaged($"symbolic link inode {inode.Number} maps {e.Length} blocks");
            }
            byte[] buffer = fs.ReadBlocks(e.Physical, (int)e.Length);
            int start = 0;
            int bytes = Math.Min(buffer.Length, size - done);
            if (sb.IsV5)
            {
                if (BinaryPrimitives.ReadUInt32BigEndian(buffer) != Magic || !XfsChecksum.Verify(buffer, CrcOffset) ||
                    BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(4)) != done ||
                    BinaryPrimitives.ReadUInt64BigEndian(buffer.AsSpan(32)) != inode.Number)
                {
                    throw fs.Damaged($"symbolic link inode {inode.Number} has a remote block {e.Physical} that fails its checks");
                }
                start = HeaderSize;
                bytes = (int)BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(8));
                if (bytes > buffer.Length - HeaderSize || bytes > size - done)
                {
                    throw fs.Damaged($"symbolic link inode {inode.Number} has a remote block {e.Physical} claiming {bytes} bytes");
                }
            }
            buffer.AsSpan(start, bytes).CopyTo(result.AsSpan(done));
            done += bytes;
        }
        if (done != size)
        {
            throw fs.Damaged($"symbolic link inode {inode.Number} stores {done} of its {size} bytes");
        }
        return result;
    }
}
