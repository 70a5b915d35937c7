using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>
/// A file's contents rewritten whole (after btrfs-progs kernel-shared/file-item.c and
/// extent-tree.c): its old extent items go and each old data extent loses this file's reference
/// (freed, with its checksums, when it was the last); the new contents are one inline extent when
/// small, else new uncompressed extents with their checksums and EXTENT_DATA_REF back references.
/// A formerly compressed file is written uncompressed.
/// </summary>
public sealed partial class BtrfsFileSystem
{
    private void WriteData(BtrfsTransaction t, ulong treeId, ulong inode, byte[] raw, byte[] data)
    {
        DropExtents(t, treeId, inode);
        bool dataSum = (BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(InodeFlags)) & BtrfsInodeItem.FlagNoDataSum) == 0;
        ulong nbytes = 0;
        if (data.Length == 0)
        {
        }
        else if (data.Length <= MaxInline && data.Length < superblock.SectorSize && BtrfsFileExtent.InlineHeaderSize + data.Length <= t.MaxItemSize)
        {
            InsertInline(t, treeId, inode, data);
            nbytes = (ulong)data.Length;
        }
        else
        {
            ulong fileOffset = 0;
            foreach (var (start, length) in t.AllocateData((ulong)data.Length))
            {
                var bytes = new byte[length];
                int n = (int)Math.Min(length, (ulong)data.Length - fileOffset);
                data.AsSpan((int)fileOffset, n).CopyTo(bytes);
                t.WriteData(start, bytes);
                t.Insert(BtrfsItem.ExtentTreeObjectId, new BtrfsKey(start, BtrfsItem.ExtentItem, length), DataExtentItem(t, treeId, inode, fileOffset));
                t.Insert(treeId, new BtrfsKey(inode, BtrfsItem.ExtentData, fileOffset), RegularExtent(t, start, length));
                if (dataSum)
                {
                    InsertChecksums(t, start, bytes);
                }
                fileOffset += length;
                nbytes += length;
            }
        }
        BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(InodeSize), (ulong)data.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(InodeNbytes), nbytes);
    }

    /// <summary>The whole contents in the file's one extent item (uncompressed).</summary>
    private static void InsertInline(BtrfsTransaction t, ulong treeId, ulong inode, byte[] data)
    {
        var item = new byte[BtrfsFileExtent.InlineHeaderSize + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(item, t.Transid);
        BinaryPrimitives.WriteUInt64LittleEndian(item.AsSpan(8), (ulong)data.Length);
        item[20] = BtrfsFileExtent.TypeInline;
        data.CopyTo(item, BtrfsFileExtent.InlineHeaderSize);
        t.Insert(treeId, new BtrfsKey(inode, BtrfsItem.ExtentData, 0), item);
    }

    private static byte[] DataExtentItem(BtrfsTransaction t, ulong treeId, ulong inode, ulong fileOffset)
    {
        var item = new byte[BtrfsExtentItem.HeaderSize + 29];
        BinaryPrimitives.WriteUInt64LittleEndian(item, 1);
        BinaryPrimitives.WriteUInt64LittleEndian(item.AsSpan(8), t.Transid);
        BinaryPrimitives.WriteUInt64LittleEndian(item.AsSpan(16), BtrfsExtentItem.FlagData);
        var r = item.AsSpan(BtrfsExtentItem.HeaderSize);
        r[0] = BtrfsItem.ExtentDataRef;
        BinaryPrimitives.WriteUInt64LittleEndian(r[1..], treeId);
        BinaryPrimitives.WriteUInt64LittleEndian(r[9..], inode);
        BinaryPrimitives.WriteUInt64LittleEndian(r[17..], fileOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(r[25..], 1);
        return item;
    }

    private static byte[] RegularExtent(BtrfsTransaction t, ulong start, ulong length)
    {
        var item = new byte[BtrfsFileExtent.RegularSize];
        var span = item.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(span, t.Transid);
        BinaryPrimitives.WriteUInt64LittleEndian(span[8..], length);
        span[20] = BtrfsFileExtent.TypeRegular;
        BinaryPrimitives.WriteUInt64LittleEndian(span[21..], start);
        BinaryPrimitives.WriteUInt64LittleEndian(span[29..], length);
        BinaryPrimitives.WriteUInt64LittleEndian(span[37..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(span[45..], length);
        return item;
    }

    /// <summary>Removes every extent item of the inode, dropping its references to their data extents.</summary>
    private void DropExtents(BtrfsTransaction t, ulong treeId, ulong inode)
    {
        foreach (var (key, value) in t.Range(treeId, new BtrfsKey(inode, BtrfsItem.ExtentData, 0), new BtrfsKey(inode, BtrfsItem.ExtentData, ulong.MaxValue)))
        {
            var extent = BtrfsFileExtent.Parse(value) ?? throw Damaged(inode, $"its extent item at {key.Offset} is {value.Length} bytes");
            // The item goes first: copying its leaf may turn a snapshot's shared references into this tree's.
            t.Delete(treeId, key);
            if (extent.Type != BtrfsFileExtent.TypeInline && extent.DiskBytenr != 0)
            {
                t.ChangeDataReference(extent.DiskBytenr, extent.DiskNumBytes, BtrfsItem.ExtentDataRef, treeId, inode, key.Offset - extent.Offset, -1);
            }
        }
    }

    /// <summary>Checksum items for new data, each as many sectors as a leaf holds.</summary>
    private void InsertChecksums(BtrfsTransaction t, ulong start, byte[] data)
    {
        int size = tree.Checksum.Size;
        int sector = (int)superblock.SectorSize;
        // MAX_CSUM_ITEMS: what btrfs check accepts in one item.
        int perItem = ((t.LeafDataSize - (2 * BtrfsNode.ItemSize)) / size) - 1;
        int sectors = data.Length / sector;
        Span<byte> sum = stackalloc byte[BtrfsChecksum.FieldSize];
        for (int first = 0; first < sectors; first += perItem)
        {
            int count = Math.Min(perItem, sectors - first);
            var item = new byte[count * size];
            for (int i = 0; i < count; i++)
            {
                tree.Checksum.Compute(data.AsSpan((first + i) * sector, sector), sum);
                sum[..size].CopyTo(item.AsSpan(i * size));
            }
            t.Insert(BtrfsItem.CsumTreeObjectId, new BtrfsKey(BtrfsItem.ExtentCsumObjectId, BtrfsItem.ExtentCsum, start + ((ulong)first * (ulong)sector)), item);
        }
    }
}
