using System.Buffers.Binary;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// Setting and removing extended attributes in the short form (xfs_attr_sf.h, xfs_attr_leaf.c
/// xfs_attr_shortform_add / _remove): the attribute fork stays in the inode's literal area, and
/// di_forkoff is placed as the kernel's xfs_attr_shortform_bytesfit places it with attr2 (as far
/// back as the attributes allow, never into the data fork's bytes nor past the room a bmbt root
/// needs). Attributes in leaf or node form (blocks of their own), attributes that outgrow the short
/// form, and v4 file systems without attr2 are refused with LIMG0332.
/// </summary>
public sealed partial class XfsFileSystem
{
    private const int AttrShortformHeader = 4, MaxShortformName = 255, MaxShortformValue = 255;

    // XFS_BMDR_SPACE_CALC(MINDBTPTRS) and (MINABTPTRS): a bmbt root's header and 3 or 2 key/pointer pairs.
    private const int MinDataBtreeRoot = 4 + (3 * 16), MinAttrBtreeRoot = 4 + (2 * 16);

    private const ushort VersionAttrBit = 0x0010;
    private const uint Features2Attr2 = 0x8;

    public void SetXattr(ulong node, string name, ReadOnlySpan<byte> value) => ChangeXattr(node, name, value.ToArray());

    public void RemoveXattr(ulong node, string name) => ChangeXattr(node, name, null);

    private LinuxImageException XattrRefused(ulong node, string name, string why) =>
        new(DiagnosticCatalog.XattrNotStored, Source, Source, "xfs", name, node, why);

    private void ChangeXattr(ulong node, string name, byte[]? value)
    {
        var target = Writable();
        var (flags, shortName) = SplitAttrName(name) ?? throw XattrRefused(node, name, "only the user., trusted. and security. namespaces are written");
        var sb = Superblock;
        if (!sb.IsV5 && ((sb.VersionNumber & XfsSuperblock.VersionMoreBits) == 0 || (sb.Features2 & Features2Attr2) == 0))
        {
            throw XattrRefused(node, name, "the v4 file system lacks the attr2 feature, whose fixed fork offsets this engine does not lay out");
        }
        var inode = ReadInode(node);
        var entries = new List<(byte Flags, byte[] Name, byte[] Value)>();
        if (inode.HasAttrFork)
        {
            if (inode.AttrFormat != XfsForkFormat.Local)
            {
                throw XattrRefused(node, name, $"the inode keeps its attributes in {inode.AttrFormat} form (blocks of their own), which this engine does not change");
            }
            entries = ReadShortformEntries(inode);
        }
        // The namespace bits decide identity; a name may exist once per namespace.
        const byte namespaces = XfsAttrLeaf.FlagRoot | XfsAttrLeaf.FlagSecure;
        int at = entries.FindIndex(e => (e.Flags & namespaces) == flags && e.Name.AsSpan().SequenceEqual(shortName));
        if (value is null)
        {
            if (at < 0)
            {
                return;
            }
            entries.RemoveAt(at);
        }
        else
        {
            if (value.Length > MaxShortformValue)
            {
                throw XattrRefused(node, name, $"a value of {value.Length} bytes needs the leaf form, which this engine does not write");
            }
            if (at >= 0)
            {
                entries[at] = (flags, shortName, value);
            }
            else
            {
                entries.Add((flags, shortName, value));
            }
        }

        var raw = (byte[])inode.Raw.Clone();
        if (entries.Count == 0)
        {
            // xfs_attr_fork_remove: no fork, and di_aformat back to extents as for an inode that never had one.
            raw.AsSpan(inode.CoreSize + inode.ForkOffset).Clear();
            raw[82] = 0;
            raw[83] = (byte)XfsForkFormat.Extents;
        }
        else
        {
            int bytes = AttrShortformHeader + entries.Sum(e => 3 + e.Name.Length + e.Value.Length);
            int forkOff = ShortformForkOffset(inode, bytes);
            if (forkOff == 0)
            {
                throw XattrRefused(node, name, $"{bytes} bytes of attributes do not fit the inode's literal area beside its data fork (the leaf form is not written)");
            }
            int start = inode.CoreSize + (forkOff * 8);
            var fork = raw.AsSpan(start);
            // The old fork lies at or after the data fork's end; clearing from the lower of the two offsets drops it whole.
            raw.AsSpan(inode.CoreSize + (inode.HasAttrFork ? Math.Min(inode.ForkOffset, forkOff * 8) : forkOff * 8)).Clear();
            BinaryPrimitives.WriteUInt16BigEndian(fork, (ushort)bytes);
            fork[2] = (byte)entries.Count;
            int p = AttrShortformHeader;
            foreach (var (f, n, v) in entries)
            {
                fork[p] = (byte)n.Length;
                fork[p + 1] = (byte)v.Length;
                fork[p + 2] = f;
                n.CopyTo(fork[(p + 3)..]);
                v.CopyTo(fork[(p + 3 + n.Length)..]);
                p += 3 + n.Length + v.Length;
            }
            raw[82] = (byte)forkOff;
            raw[83] = (byte)XfsForkFormat.Local;
        }
        SetAttrExtentCount(raw, inode);
        Stamp(raw, inode, modify: false);
        var tx = new XfsTransaction(this);
        if (entries.Count > 0 && (sb.VersionNumber & VersionAttrBit) == 0)
        {
            // mkfs.xfs leaves ATTRBIT off (v5 and v4 with attr2); the kernel turns it on with the first attribute (xfs_add_attr), in the primary superblock only.
            tx.AddVersionBits = VersionAttrBit;
        }
        tx.Inode(node, raw);
        tx.Commit(target);
    }

    /// <summary>A short-form fork has no extents.</summary>
    private static void SetAttrExtentCount(byte[] raw, XfsInode inode)
    {
        if ((inode.Flags2 & XfsInode.Flags2Nrext64) != 0)
        {
            BinaryPrimitives.WriteUInt32BigEndian(raw.AsSpan(76), 0);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(raw.AsSpan(80), 0);
        }
    }

    /// <summary>
    /// xfs_attr_shortform_bytesfit with attr2: di_forkoff (in 8-byte units) for a short-form fork of
    /// <paramref name="bytes"/>, or 0 when it does not fit beside the data fork.
    /// </summary>
    private int ShortformForkOffset(XfsInode inode, int bytes)
    {
        int literal = inode.Raw.Length - inode.CoreSize;
        int offset = (literal - bytes) >> 3;
        if (offset <= 0)
        {
            return 0;
        }
        if (inode.Format == XfsForkFormat.Device)
        {
            return offset >= 1 ? 1 : 0;
        }
        if (inode.HasAttrFork && bytes <= literal - inode.ForkOffset)
        {
            return inode.ForkOffset / 8;
        }
        int dataBytes;
        switch (inode.Format)
        {
            case XfsForkFormat.Local:
                dataBytes = (int)Math.Min(inode.Size, literal + 1L);
                break;
            case XfsForkFormat.Extents:
                dataBytes = (int)Math.Min(inode.DataExtents * (ulong)XfsExtent.RecordSize, (ulong)literal + 1);
                break;
            case XfsForkFormat.Btree:
                // The kernel keeps a bmbt root where it is; a new fork would mean laying the root out anew.
                return inode.HasAttrFork && offset >= inode.ForkOffset / 8 ? inode.ForkOffset / 8 : 0;
            default:
                return 0;
        }
        int minForkOff = (Math.Max(dataBytes, MinDataBtreeRoot) + 7) >> 3;
        int maxForkOff = (literal - MinAttrBtreeRoot) >> 3;
        if (offset >= maxForkOff)
        {
            return maxForkOff;
        }
        return offset >= minForkOff ? offset : 0;
    }

    private List<(byte Flags, byte[] Name, byte[] Value)> ReadShortformEntries(XfsInode inode)
    {
        var fork = inode.AttrFork;
        var result = new List<(byte, byte[], byte[])>();
        if (fork.Length < AttrShortformHeader)
        {
            throw Damaged($"inode {inode.Number} has a short-form attribute fork of {fork.Length} bytes");
        }
        int total = BinaryPrimitives.ReadUInt16BigEndian(fork);
        if (total < AttrShortformHeader || total > fork.Length)
        {
            throw Damaged($"inode {inode.Number} has short-form attributes of {total} bytes in a fork of {fork.Length}");
        }
        int p = AttrShortformHeader;
        for (int i = 0; i < fork[2]; i++)
        {
            if (p + 3 > total || p + 3 + fork[p] + fork[p + 1] > total)
            {
                throw Damaged($"inode {inode.Number} has short-form attribute {i} beyond the attribute area");
            }
            int n = fork[p], v = fork[p + 1];
            result.Add((fork[p + 2], fork.Slice(p + 3, n).ToArray(), fork.Slice(p + 3 + n, v).ToArray()));
            p += 3 + n + v;
        }
        return result;
    }

    /// <summary>The namespace flags (XFS_ATTR_ROOT, XFS_ATTR_SECURE, none for user.) and the name without its prefix.</summary>
    private static (byte Flags, byte[] Name)? SplitAttrName(string name) =>
        XattrNames.Split(name, MaxShortformName) is var (ns, bytes)
            ? (ns switch { XattrNamespace.User => (byte)0, XattrNamespace.Trusted => XfsAttrLeaf.FlagRoot, _ => XfsAttrLeaf.FlagSecure }, bytes)
            : null;
}
