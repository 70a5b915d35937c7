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
            var item = new byte[BtrfsFileExtent.InlineHeaderSize + data.Length];
            BinaryPrimitives.WriteUInt64LittleEndian(item, t.Transid);
            BinaryPrimitives.WriteUInt64LittleEndian(item.AsSpan(8), (ulong)data.Length);
            item[20] = BtrfsFileExtent.TypeInline;
            data.CopyTo(item, BtrfsFileExtent.InlineHeaderSize);
            t.Insert(treeId, new BtrfsKey(inode, BtrfsItem.ExtentData, 0), item);
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
            if (extent.Type != BtrfsFileExtent.TypeInline && extent.DiskBytenr != 0)
            {
                DropDataReference(t, extent.DiskBytenr, extent.DiskNumBytes, treeId, inode, key.Offset - extent.Offset);
            }
            t.Delete(treeId, key);
        }
    }

    /// <summary>
    /// One file extent item's reference to a data extent goes: the inline or keyed EXTENT_DATA_REF
    /// for (tree, inode, offset) loses one count; at no references the extent, its checksums and
    /// its space go.
    /// </summary>
    private void DropDataReference(BtrfsTransaction t, ulong bytenr, ulong length, ulong treeId, ulong inode, ulong offset)
    {
        var key = new BtrfsKey(bytenr, BtrfsItem.ExtentItem, length);
        var item = t.Find(BtrfsItem.ExtentTreeObjectId, key) ?? throw Damaged(inode, $"its data extent at {bytenr} ({length} bytes) has no extent item");
        if (item.Length < BtrfsExtentItem.HeaderSize)
        {
            throw Damaged(inode, $"the extent item of its data at {bytenr} is {item.Length} bytes");
        }
        var extent = BtrfsExtentItem.Parse(item, fullItem: false);
        if ((extent.Flags & BtrfsExtentItem.FlagData) == 0 || extent.RefCount == 0)
        {
            throw Damaged(inode, $"the extent item of its data at {bytenr} is not a referenced data extent");
        }
        byte[] updated = item;
        bool found = false;
        foreach (var r in extent.Refs)
        {
            if (r.Type == BtrfsItem.ExtentDataRef && r.Root == treeId && r.ObjectId == inode && r.Offset == offset && r.Count > 0)
            {
                if (r.Count > 1)
                {
                    updated = (byte[])item.Clone();
                    BinaryPrimitives.WriteUInt32LittleEndian(updated.AsSpan(r.Position + 25), r.Count - 1);
                }
                else
                {
                    updated = [.. item.AsSpan(0, r.Position), .. item.AsSpan(r.Position + r.Length)];
                }
                found = true;
                break;
            }
        }
        if (!found)
        {
            foreach (var (refKey, refData) in t.Range(BtrfsItem.ExtentTreeObjectId, new BtrfsKey(bytenr, BtrfsItem.ExtentDataRef, 0), new BtrfsKey(bytenr, BtrfsItem.ExtentDataRef, ulong.MaxValue)))
            {
                if (refData.Length >= 28 && BinaryPrimitives.ReadUInt64LittleEndian(refData) == treeId
                    && BinaryPrimitives.ReadUInt64LittleEndian(refData.AsSpan(8)) == inode && BinaryPrimitives.ReadUInt64LittleEndian(refData.AsSpan(16)) == offset)
                {
                    uint count = BinaryPrimitives.ReadUInt32LittleEndian(refData.AsSpan(24));
                    if (count > 1)
                    {
                        var data = (byte[])refData.Clone();
                        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(24), count - 1);
                        t.Update(BtrfsItem.ExtentTreeObjectId, refKey, data);
                    }
                    else
                    {
                        t.Delete(BtrfsItem.ExtentTreeObjectId, refKey);
                    }
                    updated = (byte[])item.Clone();
                    found = true;
                    break;
                }
            }
        }
        if (!found)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsWriteUnsupported, Source, Source,
                $"the data extent at {bytenr} of inode {inode} is referenced through a shared leaf (a snapshot's), not by subvolume {treeId} directly");
        }
        ulong refs = extent.RefCount - 1;
        if (refs == 0)
        {
            t.Delete(BtrfsItem.ExtentTreeObjectId, key);
            DeleteChecksums(t, bytenr, length);
            t.FreeData(bytenr, length);
            return;
        }
        BinaryPrimitives.WriteUInt64LittleEndian(updated, refs);
        t.Update(BtrfsItem.ExtentTreeObjectId, key, updated);
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

    /// <summary>Removes the checksums of [start, start+length), cutting items that reach past either end.</summary>
    private void DeleteChecksums(BtrfsTransaction t, ulong start, ulong length)
    {
        int size = tree.Checksum.Size;
        ulong sector = superblock.SectorSize;
        ulong reach = (ulong)(t.MaxItemSize / size) * sector;
        ulong end = start + length;
        var items = t.Range(BtrfsItem.CsumTreeObjectId,
            new BtrfsKey(BtrfsItem.ExtentCsumObjectId, BtrfsItem.ExtentCsum, start > reach ? start - reach : 0),
            new BtrfsKey(BtrfsItem.ExtentCsumObjectId, BtrfsItem.ExtentCsum, end - 1));
        foreach (var (key, sums) in items)
        {
            if (sums.Length % size != 0 || key.Offset % sector != 0)
            {
                throw tree.Damaged($"the checksum item at {key.Offset} is misaligned");
            }
            ulong itemEnd = key.Offset + ((ulong)(sums.Length / size) * sector);
            if (itemEnd <= start)
            {
                continue;
            }
            t.Delete(BtrfsItem.CsumTreeObjectId, key);
            if (key.Offset < start)
            {
                t.Insert(BtrfsItem.CsumTreeObjectId, key, sums[..(int)((start - key.Offset) / sector * (ulong)size)]);
            }
            if (itemEnd > end)
            {
                t.Insert(BtrfsItem.CsumTreeObjectId, new BtrfsKey(key.ObjectId, key.Type, end), sums[(int)((end - key.Offset) / sector * (ulong)size)..]);
            }
        }
    }
}
