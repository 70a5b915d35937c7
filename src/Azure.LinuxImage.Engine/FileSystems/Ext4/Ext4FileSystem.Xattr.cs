using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// Setting and removing extended attributes (lib/ext2fs ext_attr.c, the kernel's xattr.c). The
/// in-inode area after i_extra_isize is used first, rewritten whole: its entries (names from the
/// front, values packed from the back, each entry hashed as e2fsck checks). An attribute that does
/// not fit there goes to a new attribute block of its own (refcount 1, hashed, checksummed) when
/// the inode has none. Changing an existing attribute block (possibly shared between inodes, with a
/// reference count and the kernel's block cache keyed by its hash) is refused with LIMG0332.
/// </summary>
public sealed partial class Ext4FileSystem
{
    void IFileSystem.SetXattr(ulong node, string name, ReadOnlySpan<byte> value) => SetXattr(Number(node), name, value);

    void IFileSystem.RemoveXattr(ulong node, string name) => RemoveXattr(Number(node), name);

    public void SetXattr(uint inodeNumber, string name, ReadOnlySpan<byte> value) => ChangeXattr(inodeNumber, name, value.ToArray());

    public void RemoveXattr(uint inodeNumber, string name) => ChangeXattr(inodeNumber, name, null);

    private LinuxImageException XattrRefused(uint inode, string name, string why) =>
        new(DiagnosticCatalog.XattrNotStored, Source, Source, "ext4", name, inode, why);

    private void ChangeXattr(uint number, string name, byte[]? value)
    {
        if (Ext4Xattr.Split(name) is not var (index, suffix))
        {
            throw XattrRefused(number, name, "only the user., trusted. and security. namespaces are written");
        }
        if ((Superblock.FeatureCompat & Ext4Superblock.CompatExtAttr) == 0)
        {
            throw XattrRefused(number, name, "the file system lacks the ext_attr feature");
        }
        Change(() =>
        {
            var inode = ReadInode(number);
            var entries = Ext4Xattr.ReadInInode(this, inode);
            if (entries.Exists(e => e.ValueInode != 0))
            {
                throw XattrRefused(number, name, "the inode keeps an attribute value in its own inode (ea_inode), which this engine does not change");
            }
            if (inode.FileAcl != 0 && Ext4Xattr.Read(this, inode).ContainsKey(name) && !entries.Exists(e => e.Is(index, suffix)))
            {
                throw XattrRefused(number, name, $"the attribute is kept in the attribute block {inode.FileAcl}, which this engine does not change (it may be shared between inodes)");
            }
            int at = entries.FindIndex(e => e.Is(index, suffix));
            if (value is null)
            {
                if (at < 0)
                {
                    return 0;
                }
                entries.RemoveAt(at);
            }
            else if (at >= 0)
            {
                entries[at] = new Ext4Xattr.Entry(index, suffix, value, 0);
            }
            else
            {
                entries.Add(new Ext4Xattr.Entry(index, suffix, value, 0));
            }
            if (!Ext4Xattr.WriteInInode(inode, entries))
            {
                if (value is null || at >= 0)
                {
                    throw XattrRefused(number, name, "the changed attributes no longer fit the inode");
                }
                if (inode.FileAcl != 0)
                {
                    throw XattrRefused(number, name, $"it does not fit the inode, and the inode's attribute block {inode.FileAcl} is not changed by this engine");
                }
                entries.RemoveAt(entries.Count - 1);
                if (!Ext4Xattr.WriteInInode(inode, entries))
                {
                    throw Damaged($"inode {number} has in-inode attributes that no longer fit it");
                }
                NewXattrBlock(inode, new Ext4Xattr.Entry(index, suffix, value, 0), name);
            }
            Touch(inode, modify: false);
            WriteInode(inode);
            return 0;
        });
    }

    /// <summary>A new attribute block holding one entry, owned by this inode alone (ext2fs_ext_attr_block_rehash, ext2fs_ext_attr_block_csum_set).</summary>
    private void NewXattrBlock(Ext4Inode inode, Ext4Xattr.Entry entry, string name)
    {
        var block = new byte[BlockSize];
        if (!Ext4Xattr.WriteBlockEntries(block, [entry]))
        {
            throw XattrRefused(inode.Number, name, $"the value of {entry.Value.Length} bytes does not fit an attribute block of {BlockSize} bytes");
        }
        ulong physical = AllocateBlocks(1, GoalForInode(inode.Number), $"the attributes of inode {inode.Number}")[0].Start;
        if (Superblock.HasMetadataCsum)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(0x10), XattrBlockChecksum(physical, block));
        }
        WriteBlock(physical, block);
        inode.FileAcl = physical;
        inode.BlocksRaw += (inode.Flags & Ext4Inode.FlagHugeFile) != 0 ? 1UL : (ulong)SectorsPerBlock;
    }
}
