using System.Buffers.Binary;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// The changes that need no allocation, so that no free-space, inode or reverse-mapping btree,
/// AG header or superblock counter changes: a file's contents rewritten inside the written blocks
/// it already maps (shrinking, or growing up to its last mapped block), and a mode change. Only
/// the data blocks and the inode (size, times, change count, CRC) are written, everything checked
/// first. Blocks a reflinked inode may share are never written in place: such inodes are refused.
/// </summary>
public sealed partial class XfsFileSystem
{
    private const ulong Flags2Bigtime = 0x8;

    private IWritableVolume Writable() => volume as IWritableVolume ?? throw new InvalidOperationException("The file system was opened on a read-only volume; open it on an overlay to change it.");

    public void ReplaceContent(ulong node, ReadOnlySpan<byte> content)
    {
        var target = Writable();
        var inode = ReadInode(node);
        if (!inode.IsRegular)
        {
            throw new IOException($"inode {node} is not a regular file.");
        }
        if ((inode.Flags2 & XfsInode.Flags2Reflink) != 0)
        {
            throw Refused($"rewriting inode {node}, whose blocks may be shared with reflinked copies (copy-on-write allocation is not implemented)");
        }
        if (inode.Format is not (XfsForkFormat.Extents or XfsForkFormat.Btree))
        {
            throw Refused($"rewriting inode {node} with data fork format {inode.Format}");
        }
        int bs = Superblock.BlockSize;
        ulong need = ((ulong)content.Length + (ulong)bs - 1) / (ulong)bs;
        var extents = XfsBmap.Map(this, inode, attr: false);
        // Every block the new contents occupy must already be mapped and written, from block 0 on.
        var writes = new List<(long Offset, int Start, int Length)>();
        ulong covered = 0;
        foreach (var e in extents)
        {
            if (covered >= need)
            {
                break;
            }
            if (e.Logical != covered || e.Unwritten)
            {
                break;
            }
            ulong n = Math.Min(e.Length, need - covered);
            int start = (int)(covered * (ulong)bs);
            int length = (int)Math.Min((long)n * bs, content.Length - start);
            writes.Add(((long)e.Physical * bs, start, length));
            covered += n;
        }
        if (covered < need)
        {
            throw Refused($"growing inode {node} to {content.Length} bytes, past the written blocks it maps (allocating blocks is not implemented)");
        }
        var raw = (byte[])inode.Raw.Clone();
        BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(56), (ulong)content.Length);
        Stamp(raw, inode, modify: true);

        foreach (var (offset, start, length) in writes)
        {
            target.WriteAt(offset, content.Slice(start, length));
        }
        int tail = content.Length % bs;
        if (tail != 0)
        {
            // What lies past the end in the last block reads as zeros, as the kernel leaves it.
            var last = writes[^1];
            target.WriteAt(last.Offset + last.Length, new byte[bs - tail]);
        }
        WriteInode(target, node, raw);
    }

    public void SetMode(ulong node, int permissions)
    {
        var target = Writable();
        var inode = ReadInode(node);
        var raw = (byte[])inode.Raw.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(raw.AsSpan(2), (ushort)((inode.Mode & XfsInode.ModeTypeMask) | (permissions & 0xFFF)));
        Stamp(raw, inode, modify: false);
        WriteInode(target, node, raw);
    }

    /// <summary>ctime (and mtime) from the clock in the inode's time format, the v3 change count, then the CRC is set by <see cref="WriteInode"/>.</summary>
    private void Stamp(byte[] raw, XfsInode inode, bool modify)
    {
        var now = Clock();
        long seconds = now.ToUnixTimeSeconds();
        uint nanos = (uint)((now.UtcTicks % TimeSpan.TicksPerSecond) * 100);
        Span<byte> t = stackalloc byte[8];
        if ((inode.Flags2 & Flags2Bigtime) != 0)
        {
            BinaryPrimitives.WriteUInt64BigEndian(t, ((ulong)(seconds + 2147483648L) * 1_000_000_000UL) + nanos);
        }
        else
        {
            BinaryPrimitives.WriteInt32BigEndian(t, (int)Math.Clamp(seconds, int.MinValue, int.MaxValue));
            BinaryPrimitives.WriteUInt32BigEndian(t[4..], nanos);
        }
        t.CopyTo(raw.AsSpan(48)); // di_ctime
        if (modify)
        {
            t.CopyTo(raw.AsSpan(40)); // di_mtime
        }
        if (inode.Version >= 3)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(104), BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(104)) + 1);
        }
    }

    private void WriteInode(IWritableVolume target, ulong node, byte[] raw)
    {
        var updated = new XfsInode(node, raw);
        if (updated.Version >= 3)
        {
            XfsChecksum.Update(raw, XfsInode.CrcOffset);
        }
        target.WriteAt(InodeOffset(node), raw);
        inodes[node] = updated;
    }
}
