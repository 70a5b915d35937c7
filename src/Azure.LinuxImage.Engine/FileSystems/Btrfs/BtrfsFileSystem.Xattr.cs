using System.Buffers.Binary;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>
/// Setting and removing extended attributes (the kernel's btrfs_setxattr, btrfs-progs
/// kernel-shared/dir-item.c btrfs_insert_xattr_item): an XATTR_ITEM keyed (inode, XATTR_ITEM,
/// crc32c name hash) in the subvolume tree, holding a btrfs_dir_item with a zero location, type
/// BTRFS_FT_XATTR, the full name with its namespace prefix and the value; names whose hashes collide
/// share the item, one entry after another, as directory names do. Written through the copy-on-write
/// transaction like every other item. A name and value that would overflow one leaf item are refused
/// with LIMG0332 (the kernel answers ENOSPC/E2BIG likewise).
/// </summary>
public sealed partial class BtrfsFileSystem
{
    public void SetXattr(ulong node, string name, ReadOnlySpan<byte> value) => ChangeXattr(node, name, value.ToArray());

    public void RemoveXattr(ulong node, string name) => ChangeXattr(node, name, null);

    private void ChangeXattr(ulong node, string name, byte[]? value)
    {
        var (treeId, inode, _) = ForChange(node);
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        // btrfs stores the whole name with its prefix, so the limit applies to all of it.
        if (XattrNames.Split(name, BtrfsDirEntry.MaxNameLength) is null || name.EndsWith('.') || nameBytes.Length > BtrfsDirEntry.MaxNameLength)
        {
            throw XattrRefused(node, name, "only the user., trusted. and security. namespaces are written, with names of at most 255 bytes");
        }
        if (value is null && !ReadXattrs(node).ContainsKey(name))
        {
            // Nothing to remove: an empty transaction would still commit a new generation.
            return;
        }
        Change(t =>
        {
            var key = new BtrfsKey(inode, BtrfsItem.XattrItem, NameHash(nameBytes));
            var existing = t.Find(treeId, key);
            var kept = new List<byte>();
            bool found = false;
            if (existing is not null)
            {
                foreach (var e in BtrfsDirEntry.ParseAll(existing, (int)superblock.NodeSize) ?? throw tree.Damaged($"an extended attribute of inode {inode} overruns its item"))
                {
                    if (e.Name.Span.SequenceEqual(nameBytes))
                    {
                        found = true;
                        continue;
                    }
                    kept.AddRange(DirEntryBytes(existing, e));
                }
            }
            if (value is null && !found)
            {
                return 0;
            }
            if (value is not null)
            {
                var entry = new byte[BtrfsDirEntry.HeaderSize + nameBytes.Length + value.Length];
                // Location stays the zero key: an attribute points at nothing.
                BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(17), t.Transid);
                BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(25), (ushort)value.Length);
                BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(27), (ushort)nameBytes.Length);
                entry[29] = BtrfsDirEntry.TypeXattr;
                nameBytes.CopyTo(entry, BtrfsDirEntry.HeaderSize);
                value.CopyTo(entry, BtrfsDirEntry.HeaderSize + nameBytes.Length);
                kept.AddRange(entry);
                if (kept.Count > t.MaxItemSize)
                {
                    throw XattrRefused(node, name, $"{kept.Count} bytes of attribute item do not fit a {superblock.NodeSize}-byte leaf");
                }
            }
            if (kept.Count == 0)
            {
                t.Delete(treeId, key);
            }
            else if (existing is null)
            {
                t.Insert(treeId, key, [.. kept]);
            }
            else
            {
                t.Update(treeId, key, [.. kept]);
            }
            var raw = InodeRaw(t, treeId, inode);
            Touch(t, raw, modify: false);
            t.Update(treeId, InodeKey(inode), raw);
            return 0;
        });
    }

    private LinuxImageException XattrRefused(ulong node, string name, string why) =>
        new(DiagnosticCatalog.XattrNotStored, Source, Source, "btrfs", name, node, why);
}
