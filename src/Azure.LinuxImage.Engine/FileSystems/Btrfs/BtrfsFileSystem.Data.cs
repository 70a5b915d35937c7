using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

public sealed partial class BtrfsFileSystem
{
    /// <summary>The kernel compresses at most 128 KiB of a file into one extent (BTRFS_MAX_COMPRESSED / MAX_UNCOMPRESSED).</summary>
    private const int MaxCompressedExtent = 128 * 1024;

    private BtrfsRoot? csumRoot;
    private bool csumRootLoaded;

    /// <summary>
    /// A file's bytes from its EXTENT_DATA items: inline data, regular extents (read from disk and
    /// checked against the checksum tree, as the kernel does), compressed extents (zlib, zstd) and
    /// holes or preallocated ranges as zeros.
    /// </summary>
    private byte[] ReadData(int index, ulong inode, BtrfsInodeItem item)
    {
        if (item.Size > (ulong)Array.MaxLength)
        {
            throw new LinuxImageException(DiagnosticCatalog.GuestPathInvalid, Source, Source, $"inode {inode}", $"its size {item.Size} is too large to read into memory");
        }
        if (item.Size > superblock.TotalBytes)
        {
            // A sparse or compressed file may be larger than the file system, but nothing the SDK reads is.
            throw new LinuxImageException(DiagnosticCatalog.GuestPathInvalid, Source, Source, $"inode {inode}", $"its size {item.Size} exceeds the file system");
        }
        var result = new byte[item.Size];
        ulong size = item.Size;
        ulong covered = 0;
        bool verify = (item.Flags & BtrfsInodeItem.FlagNoDataSum) == 0;
        foreach (var data in tree.Range(subvolumes[index].Root, new BtrfsKey(inode, BtrfsItem.ExtentData, 0), new BtrfsKey(inode, BtrfsItem.ExtentData, ulong.MaxValue)))
        {
            ulong fileOffset = data.Key.Offset;
            if (fileOffset < covered)
            {
                throw Damaged(inode, $"its extent at {fileOffset} overlaps the one before");
            }
            if (fileOffset >= size)
            {
                // Preallocated space past the end of the file (fallocate --keep-size).
                break;
            }
            var extent = BtrfsFileExtent.Parse(data.Data.Span) ?? throw Damaged(inode, $"its extent item at {fileOffset} is {data.Data.Length} bytes");
            if (extent.Encryption != 0 || extent.OtherEncoding != 0)
            {
                throw new LinuxImageException(DiagnosticCatalog.BtrfsUnsupported, Source, Source, $"encoded (encrypted) file data in inode {inode}");
            }
            var destination = result.AsSpan((int)fileOffset);
            switch (extent.Type)
            {
                case BtrfsFileExtent.TypeInline:
                    if (fileOffset != 0)
                    {
                        throw Damaged(inode, $"it has an inline extent at {fileOffset}");
                    }
                    covered = ReadInline(inode, extent, data.Data[BtrfsFileExtent.InlineHeaderSize..], destination);
                    break;
                case BtrfsFileExtent.TypeRegular:
                case BtrfsFileExtent.TypePrealloc:
                    if (extent.NumBytes == 0 || extent.NumBytes % superblock.SectorSize != 0 || fileOffset % superblock.SectorSize != 0)
                    {
                        throw Damaged(inode, $"its extent at {fileOffset} covers {extent.NumBytes} bytes");
                    }
                    if (extent.Type == BtrfsFileExtent.TypeRegular && extent.DiskBytenr != 0)
                    {
                        ReadRegular(inode, extent, verify, destination[..(int)Math.Min(extent.NumBytes, size - fileOffset)]);
                    }
                    covered = fileOffset + extent.NumBytes;
                    break;
                default:
                    throw Damaged(inode, $"its extent at {fileOffset} has the type {extent.Type}");
            }
        }
        return result;
    }

    private ulong ReadInline(ulong inode, BtrfsFileExtent extent, ReadOnlyMemory<byte> inline, Span<byte> destination)
    {
        if (extent.RamBytes > superblock.SectorSize)
        {
            throw Damaged(inode, $"its inline extent holds {extent.RamBytes} bytes");
        }
        if (extent.Compression == BtrfsFileExtent.CompressionNone)
        {
            if ((ulong)inline.Length != extent.RamBytes)
            {
                throw Damaged(inode, $"its inline extent holds {inline.Length} bytes where it records {extent.RamBytes}");
            }
            inline.Span[..Math.Min(inline.Length, destination.Length)].CopyTo(destination);
            return extent.RamBytes;
        }
        var output = new byte[Math.Min((int)extent.RamBytes, destination.Length)];
        Decompress(inode, extent.Compression, inline.ToArray(), inline.Length, output, 0);
        output.CopyTo(destination);
        return extent.RamBytes;
    }

    private void ReadRegular(ulong inode, BtrfsFileExtent extent, bool verify, Span<byte> destination)
    {
        if (extent.DiskNumBytes == 0 || extent.DiskBytenr % superblock.SectorSize != 0 || extent.DiskNumBytes % superblock.SectorSize != 0)
        {
            throw Damaged(inode, $"its extent at disk {extent.DiskBytenr} has the length {extent.DiskNumBytes}");
        }
        if (extent.Compression == BtrfsFileExtent.CompressionNone)
        {
            if (extent.Offset > extent.DiskNumBytes || extent.NumBytes > extent.DiskNumBytes - extent.Offset || extent.Offset % superblock.SectorSize != 0)
            {
                throw Damaged(inode, $"its extent reads {extent.NumBytes} bytes at {extent.Offset} of a {extent.DiskNumBytes}-byte disk extent");
            }
            // Whole sectors, so each can be checked against its checksum.
            ulong start = extent.DiskBytenr + extent.Offset;
            ulong length = ((ulong)destination.Length + superblock.SectorSize - 1) / superblock.SectorSize * superblock.SectorSize;
            if (length == (ulong)destination.Length)
            {
                tree.ReadLogical(start, destination);
                if (verify)
                {
                    VerifyData(inode, start, destination);
                }
            }
            else
            {
                var sectors = new byte[length];
                tree.ReadLogical(start, sectors);
                if (verify)
                {
                    VerifyData(inode, start, sectors);
                }
                sectors.AsSpan(0, destination.Length).CopyTo(destination);
            }
            return;
        }
        if (extent.DiskNumBytes > MaxCompressedExtent || extent.RamBytes > MaxCompressedExtent
            || extent.Offset > extent.RamBytes || extent.NumBytes > extent.RamBytes - extent.Offset)
        {
            throw Damaged(inode, $"its compressed extent at disk {extent.DiskBytenr} claims {extent.DiskNumBytes} bytes for {extent.RamBytes}, reading {extent.NumBytes} at {extent.Offset}");
        }
        var compressed = new byte[extent.DiskNumBytes];
        tree.ReadLogical(extent.DiskBytenr, compressed);
        if (verify)
        {
            VerifyData(inode, extent.DiskBytenr, compressed);
        }
        // Only as much as the file needs: the last extent's stream ends at the file's end, short of its
        // sector-rounded ram_bytes, and what follows it on disk is padding, not another stream.
        var output = new byte[(int)extent.Offset + destination.Length];
        Decompress(inode, extent.Compression, compressed, compressed.Length, output, extent.DiskBytenr);
        output.AsSpan((int)extent.Offset, destination.Length).CopyTo(destination);
    }

    private void Decompress(ulong inode, byte compression, byte[] input, int length, byte[] output, ulong where)
    {
        var codec = compression switch
        {
            BtrfsFileExtent.CompressionZlib => Decompression.Codec.Zlib,
            BtrfsFileExtent.CompressionZstd => Decompression.Codec.Zstd,
            BtrfsFileExtent.CompressionLzo => throw new LinuxImageException(DiagnosticCatalog.BtrfsUnsupported, Source, Source,
                $"LZO-compressed data in inode {inode} (no served .NET library reads btrfs's LZO; zlib and zstd are read)"),
            _ => throw Damaged(inode, $"it uses the unknown compression {compression}"),
        };
        try
        {
            Decompression.Decompress(codec, input, length, output, Source, "btrfs extent", (long)where);
        }
        catch (LinuxImageException e) when (e.Descriptor == DiagnosticCatalog.CompressedDataInvalid)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsDamaged, Source, e, Source, $"the compressed extent at {where} of inode {inode} does not decompress: {e.Message}");
        }
    }

    /// <summary>
    /// Checks whole sectors read from <paramref name="logical"/> against the checksum tree. A sector
    /// without a checksum is accepted (the kernel does the same for data written with nodatasum).
    /// </summary>
    private void VerifyData(ulong inode, ulong logical, ReadOnlySpan<byte> data)
    {
        var root = CsumRoot();
        if (root is null)
        {
            return;
        }
        uint sector = superblock.SectorSize;
        int csumSize = tree.Checksum.Size;
        // A checksum item cannot cover more sectors than a leaf holds checksums, so any item covering
        // this range starts at most that far before it.
        ulong reach = superblock.NodeSize / (ulong)csumSize * sector;
        ulong first = logical > reach ? logical - reach : 0;
        ulong end = logical + (ulong)data.Length;
        foreach (var item in tree.Range(root.Value, new BtrfsKey(BtrfsItem.ExtentCsumObjectId, BtrfsItem.ExtentCsum, first), new BtrfsKey(BtrfsItem.ExtentCsumObjectId, BtrfsItem.ExtentCsum, end - 1)))
        {
            ulong itemStart = item.Key.Offset;
            int count = item.Data.Length / csumSize;
            if (itemStart % sector != 0 || item.Data.Length % csumSize != 0)
            {
                throw tree.Damaged($"the checksum item at {itemStart} is misaligned");
            }
            var sums = item.Data.Span;
            for (int i = 0; i < count; i++)
            {
                ulong at = itemStart + ((ulong)i * sector);
                if (at < logical)
                {
                    continue;
                }
                if (at >= end)
                {
                    break;
                }
                int offset = (int)(at - logical);
                if (!tree.Checksum.Verify(data.Slice(offset, (int)sector), sums[(i * csumSize)..]))
                {
                    throw Damaged(inode, $"the data at logical {at} fails its {tree.Checksum.Name} checksum");
                }
            }
        }
    }

    private BtrfsRoot? CsumRoot()
    {
        if (!csumRootLoaded)
        {
            var data = tree.Find(rootTree, new BtrfsKey(BtrfsItem.CsumTreeObjectId, BtrfsItem.RootItem, 0));
            if (data is not null)
            {
                var root = BtrfsRootItem.Parse(data.Value.Span) ?? throw tree.Damaged("the checksum tree's root item is too short");
                if (root.Level >= BtrfsTree.MaxLevel)
                {
                    throw tree.Damaged($"the checksum tree's root has level {root.Level}");
                }
                csumRoot = new BtrfsRoot(root.Bytenr, root.Level, root.Generation);
            }
            csumRootLoaded = true;
        }
        return csumRoot;
    }

    private LinuxImageException Damaged(ulong inode, string what) => tree.Damaged($"inode {inode}: {what}");
}
