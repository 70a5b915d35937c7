using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>
/// The changes. Each public method checks what it needs, then does its work in one
/// <see cref="BtrfsTransaction"/> (copy-on-write of every tree it touches, new generation) that
/// holds everything in memory until it commits; a refusal or damage found on the way leaves the
/// volume untouched.
/// </summary>
public sealed partial class BtrfsFileSystem
{
    /// <summary>BTRFS_DEFAULT_MAX_INLINE: files up to this size (and below a sector) are stored in their extent item.</summary>
    private const int MaxInline = 2048;

    private const int InodeTransid = 8;
    private const int InodeSize = 16;
    private const int InodeNbytes = 24;
    private const int InodeNlink = 40;
    private const int InodeMode = 52;
    private const int InodeFlags = 64;
    private const int InodeSequence = 72;
    private const int InodeAtime = 112;
    private const int InodeCtime = 124;
    private const int InodeMtime = 136;
    private const int InodeOtime = 148;

    private const ulong QuotaTreeObjectId = 8;

    private string? writeRefusal;
    private bool writeRefusalChecked;

    /// <summary>Null when this file system can be written; otherwise why not.</summary>
    public string? WriteRefusal
    {
        get
        {
            if (!writeRefusalChecked)
            {
                writeRefusal = FindWriteRefusal();
                writeRefusalChecked = true;
            }
            return writeRefusal;
        }
    }

    private string? FindWriteRefusal()
    {
        if (volume is not IWritableVolume)
        {
            return "it was opened read-only";
        }
        if (superblock.IsSeeding)
        {
            return "it is a seeding device";
        }
        if ((superblock.IncompatFlags & BtrfsSuperblock.IncompatSimpleQuota) != 0)
        {
            return "it uses simple quotas (every new extent would need an owner reference the SDK does not write)";
        }
        ulong knownRo = BtrfsSuperblock.CompatRoFreeSpaceTree | BtrfsSuperblock.CompatRoFreeSpaceTreeValid | BtrfsSuperblock.CompatRoBlockGroupTree;
        if ((superblock.CompatRoFlags & ~knownRo) != 0)
        {
            return $"it has read-only compatible features 0x{superblock.CompatRoFlags & ~knownRo:x} (verity or newer) the SDK does not write";
        }
        if ((superblock.CompatRoFlags & BtrfsSuperblock.CompatRoFreeSpaceTree) != 0 && (superblock.CompatRoFlags & BtrfsSuperblock.CompatRoFreeSpaceTreeValid) == 0)
        {
            return "its free space tree is marked not valid";
        }
        if (tree.Find(rootTree, new BtrfsKey(QuotaTreeObjectId, BtrfsItem.RootItem, 0)) is not null)
        {
            return "quotas (qgroups) are enabled, and the SDK does not update their counts";
        }
        return null;
    }

    private void EnsureWritable()
    {
        if (WriteRefusal is not null)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsWriteUnsupported, Source, Source, WriteRefusal);
        }
    }

    /// <summary>Runs one change in a transaction and commits it; then the reader follows the new roots.</summary>
    private T Change<T>(Func<BtrfsTransaction, T> action)
    {
        EnsureWritable();
        FollowCommits();
        var transaction = new BtrfsTransaction(tree, superblock, (IWritableVolume)volume, Source) { Now = Clock() };
        T result = action(transaction);
        transaction.Commit();
        FollowRoots();
        return result;
    }

    /// <summary>
    /// Another instance on the same volume (another subvolume's mount) may have committed: then this
    /// one takes the superblock on the volume and forgets every cached block, as its old trees' freed
    /// blocks may have been reused. The generation is 8 bytes to compare, so every call can check.
    /// </summary>
    private void FollowCommits()
    {
        Span<byte> generation = stackalloc byte[8];
        volume.ReadAt(BtrfsSuperblock.PrimaryOffset + 0x48, generation);
        if (BinaryPrimitives.ReadUInt64LittleEndian(generation) == superblock.Generation)
        {
            return;
        }
        var current = BtrfsSuperblock.ReadPrimary(volume, Source);
        if (current.LogRoot != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsNeedsLogReplay, Source, Source);
        }
        superblock.Replace(current.Raw);
        tree.ForgetAll();
        // The other instance may have allocated chunks.
        LoadChunkTree(tree, superblock, Source);
        writeRefusalChecked = false;
        FollowRoots();
    }

    private void FollowRoots()
    {
        rootTree = new BtrfsRoot(superblock.RootTree, superblock.RootLevel, superblock.Generation);
        for (int i = 0; i < subvolumes.Count; i++)
        {
            var (id, _, parent) = subvolumes[i];
            subvolumes[i] = (id, SubvolumeRoot(id) ?? throw tree.Damaged($"subvolume {id} lost its root in the commit"), parent);
        }
        csumRootLoaded = false;
    }

    /// <summary>The tree and inode a node names, for a change; the stand-in of a missing nested subvolume cannot change.</summary>
    private (ulong TreeId, ulong Inode, BtrfsInodeItem Item) ForChange(ulong node)
    {
        var (index, inode) = Split(node);
        if (index == EmptyDirTree)
        {
            throw new IOException($"Node {node} is the stand-in of a subvolume this snapshot does not hold; it cannot change.");
        }
        ulong id = subvolumes[index].Id;
        if (IsReadOnlySubvolume(id))
        {
            throw new LinuxImageException(DiagnosticCatalog.BtrfsWriteUnsupported, Source, Source,
                $"subvolume {id} is a read-only snapshot (BTRFS_ROOT_SUBVOL_RDONLY), which the kernel never changes either");
        }
        return (id, inode, Inode(index, inode));
    }

    private bool IsReadOnlySubvolume(ulong id)
    {
        byte[]? last = null;
        foreach (var item in tree.Range(rootTree, new BtrfsKey(id, BtrfsItem.RootItem, 0), new BtrfsKey(id, BtrfsItem.RootItem, ulong.MaxValue)))
        {
            last = item.Data.ToArray();
        }
        return last is not null && last.Length >= 216 && (BinaryPrimitives.ReadUInt64LittleEndian(last.AsSpan(208)) & 1) != 0;
    }

    public void SetMode(ulong node, int permissions)
    {
        var (treeId, inode, _) = ForChange(node);
        Change(t =>
        {
            var raw = InodeRaw(t, treeId, inode);
            uint mode = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(InodeMode));
            BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(InodeMode), (mode & ~0xFFFu) | ((uint)permissions & 0xFFF));
            Touch(t, raw, modify: false);
            t.Update(treeId, InodeKey(inode), raw);
            return 0;
        });
    }

    public void ReplaceContent(ulong node, ReadOnlySpan<byte> content)
    {
        var (treeId, inode, item) = ForChange(node);
        if (item.Kind != FileSystemNodeKind.File)
        {
            throw new IOException($"Node {node} is not a regular file.");
        }
        var data = content.ToArray();
        Change(t =>
        {
            var raw = InodeRaw(t, treeId, inode);
            WriteData(t, treeId, inode, raw, data);
            Touch(t, raw, modify: true);
            t.Update(treeId, InodeKey(inode), raw);
            return 0;
        });
    }

    private static BtrfsKey InodeKey(ulong inode) => new(inode, BtrfsItem.InodeItem, 0);

    private byte[] InodeRaw(BtrfsTransaction t, ulong treeId, ulong inode)
    {
        var raw = t.Find(treeId, InodeKey(inode)) ?? throw tree.Damaged($"inode {inode} of subvolume {treeId} has no inode item");
        if (raw.Length < BtrfsInodeItem.Length)
        {
            throw tree.Damaged($"the inode item of {inode} in subvolume {treeId} is {raw.Length} bytes");
        }
        return (byte[])raw.Clone();
    }

    /// <summary>As the kernel on every inode change: the transaction, a new sequence (i_version), ctime, and mtime when the contents change.</summary>
    private static void Touch(BtrfsTransaction t, byte[] raw, bool modify)
    {
        var span = raw.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(span[InodeTransid..], t.Transid);
        BinaryPrimitives.WriteUInt64LittleEndian(span[InodeSequence..], BinaryPrimitives.ReadUInt64LittleEndian(span[InodeSequence..]) + 1);
        WriteTime(span[InodeCtime..], t.Now);
        if (modify)
        {
            WriteTime(span[InodeMtime..], t.Now);
        }
    }

    private static void WriteTime(Span<byte> destination, DateTimeOffset time)
    {
        long ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rest);
        if (rest < 0)
        {
            seconds--;
            rest += TimeSpan.TicksPerSecond;
        }
        BinaryPrimitives.WriteInt64LittleEndian(destination, seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], (uint)(rest * 100));
    }
}
