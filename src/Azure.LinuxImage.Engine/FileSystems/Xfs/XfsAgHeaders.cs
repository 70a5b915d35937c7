using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// The free-space header (AGF, sector 1 of an allocation group) and the inode header (AGI,
/// sector 2): parsed and checked against the superblock when the file system is opened, so that
/// damage there is reported before anything else is trusted.
/// </summary>
internal sealed record XfsAgHeaders(uint Agno, uint Length, uint FreeBlocks, uint FreeListCount, uint InodeCount, uint FreeInodes, bool HasUnlinked)
{
    public const uint AgfMagic = 0x58414746; // "XAGF"
    public const uint AgiMagic = 0x58414749; // "XAGI"
    public const int AgfCrcOffset = 216, AgiCrcOffset = 312;
    public const uint NullAgino = 0xFFFFFFFF;
    private const int MaxBtreeLevels = 9;

    /// <summary>Blocks in allocation group <paramref name="agno"/> (the last one may be short).</summary>
    public static uint AgLength(XfsSuperblock sb, uint agno) =>
        agno < sb.AgCount - 1 ? sb.AgBlocks : (uint)(sb.DataBlocks - ((ulong)(sb.AgCount - 1) * sb.AgBlocks));

    /// <summary>Reads and checks both headers of one group; <paramref name="damaged"/> builds the LIMG0340 error.</summary>
    public static XfsAgHeaders Read(XfsFileSystem fs, uint agno)
    {
        var sb = fs.Superblock;
        uint length = AgLength(sb, agno);
        long agStart = (long)agno * sb.AgBlocks * sb.BlockSize;
        byte[] agf = fs.ReadBytes(agStart + sb.SectorSize, sb.SectorSize);
        byte[] agi = fs.ReadBytes(agStart + (2L * sb.SectorSize), sb.SectorSize);

        uint A(int o) => BinaryPrimitives.ReadUInt32BigEndian(agf.AsSpan(o));
        uint I(int o) => BinaryPrimitives.ReadUInt32BigEndian(agi.AsSpan(o));

        if (A(0) != AgfMagic || A(4) != 1)
        {
            throw fs.Damaged($"the AGF of allocation group {agno} has a wrong magic number or version");
        }
        if (sb.IsV5 && (!XfsChecksum.Verify(agf, AgfCrcOffset) || !agf.AsSpan(64, 16).SequenceEqual(sb.MetadataUuid)))
        {
            throw fs.Damaged($"the AGF of allocation group {agno} fails its checksum");
        }
        if (A(8) != agno || A(12) != length)
        {
            throw fs.Damaged($"the AGF of allocation group {agno} names group {A(8)} of {A(12)} blocks");
        }
        int agflEntries = (sb.SectorSize - (sb.IsV5 ? 36 : 0)) / 4;
        for (int i = 0; i < 3; i++)
        {
            uint root = A(16 + (4 * i));
            uint level = A(28 + (4 * i));
            bool present = i < 2 || (sb.FeaturesRoCompat & XfsSuperblock.RoCompatRmapbt) != 0;
            if (present && (root == 0 || root >= length || level == 0 || level > MaxBtreeLevels))
            {
                throw fs.Damaged($"the AGF of allocation group {agno} has free-space btree {i} at block {root}, level {level}");
            }
        }
        if (A(40) >= agflEntries || A(44) >= agflEntries || A(48) > agflEntries || A(52) > length || A(56) > length)
        {
            throw fs.Damaged($"the AGF of allocation group {agno} has impossible free-list or free-space counts");
        }

        if (I(0) != AgiMagic || I(4) != 1)
        {
            throw fs.Damaged($"the AGI of allocation group {agno} has a wrong magic number or version");
        }
        if (sb.IsV5 && (!XfsChecksum.Verify(agi, AgiCrcOffset) || !agi.AsSpan(296, 16).SequenceEqual(sb.MetadataUuid)))
        {
            throw fs.Damaged($"the AGI of allocation group {agno} fails its checksum");
        }
        if (I(8) != agno || I(12) != length)
        {
            throw fs.Damaged($"the AGI of allocation group {agno} names group {I(8)} of {I(12)} blocks");
        }
        if (I(20) == 0 || I(20) >= length || I(24) == 0 || I(24) > MaxBtreeLevels || I(28) > I(16))
        {
            throw fs.Damaged($"the AGI of allocation group {agno} has an inode btree at block {I(20)}, level {I(24)}, or more free inodes than inodes");
        }
        bool unlinked = false;
        for (int i = 0; i < 64; i++)
        {
            unlinked |= I(40 + (4 * i)) != NullAgino;
        }
        return new XfsAgHeaders(agno, length, A(52), A(48), I(16), I(28), unlinked);
    }

    /// <summary>The refcount btree's records of a group (start, length; the copy-on-write staging bit cleared): the blocks more than one fork maps, or that copy-on-write holds.</summary>
    public static List<(uint Start, uint Length)> RefcountRecords(XfsFileSystem fs, uint agno)
    {
        var sb = fs.Superblock;
        byte[] agf = fs.ReadBytes(((long)agno * sb.AgBlocks * sb.BlockSize) + sb.SectorSize, sb.SectorSize);
        uint root = BinaryPrimitives.ReadUInt32BigEndian(agf.AsSpan(88)), level = BinaryPrimitives.ReadUInt32BigEndian(agf.AsSpan(92));
        var (records, _) = XfsAgBtree.Read(fs, agno, root, (int)level, XfsAgBtreeKind.Refcount);
        return [.. records.Select(r => (BinaryPrimitives.ReadUInt32BigEndian(r) & 0x7FFFFFFFu, BinaryPrimitives.ReadUInt32BigEndian(r.AsSpan(4))))];
    }
}
