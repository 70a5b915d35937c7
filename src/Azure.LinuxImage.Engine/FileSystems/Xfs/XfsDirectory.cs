namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// Reading a directory in any of its forms. Short form lives in the inode; block, leaf, node and
/// btree directories all keep their entries in data blocks below the 32 GiB leaf offset of the
/// data fork (the leaf, node and free-index blocks above it only speed up lookups and are not
/// needed to list), so the forms differ here only in how the fork is mapped.
/// </summary>
internal static class XfsDirectory
{
    /// <summary>XFS_DIR2_LEAF_OFFSET: where the leaf segment of a directory's data fork begins, in bytes.</summary>
    public const ulong LeafOffsetBytes = 32UL << 30;

    public static List<XfsDirEntry> Read(XfsFileSystem fs, XfsInode dir)
    {
        if (dir.Format == XfsForkFormat.Local)
        {
            return XfsDirShortform.Read(fs, dir);
        }
        var sb = fs.Superblock;
        var extents = XfsBmap.Map(fs, dir, attr: false);
        int blocksPerDirBlock = 1 << sb.DirBlockLog;
        ulong leafBlock = LeafOffsetBytes >> sb.BlockLog;
        // xfs_dir2_isblock: the fork ends right after one directory block (a leaf directory also maps its leaf segment).
        ulong last = extents.Count == 0 ? 0 : extents[^1].Logical + extents[^1].Length;
        bool blockForm = last == (ulong)blocksPerDirBlock;
        if (blockForm && dir.Size != sb.DirBlockSize)
        {
            throw fs.Damaged($"block directory inode {dir.Number} has size {dir.Size}, not one directory block of {sb.DirBlockSize}");
        }
        var result = new List<XfsDirEntry>();
        var seen = new HashSet<ulong>();
        foreach (var e in extents)
        {
            for (ulong b = e.Logical - (e.Logical % (ulong)blocksPerDirBlock); b < e.Logical + e.Length && b < leafBlock; b += (ulong)blocksPerDirBlock)
            {
                if (!seen.Add(b))
                {
                    continue;
                }
                ulong dirBlock = b / (ulong)blocksPerDirBlock;
                byte[] block = fs.ReadForkBlocks(dir, extents, b, blocksPerDirBlock, "directory");
                XfsDirData.Read(fs, dir, block, dirBlock, blockForm && dirBlock == 0, result);
            }
        }
        if (!result.Exists(r => r.Name == ".."))
        {
            throw fs.Damaged($"directory inode {dir.Number} has no '..' entry");
        }
        return result;
    }
}
