namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// Renaming: the name moves between directories (or changes in one), a non-directory target is
/// replaced (its link dropped, freed at the last), and a moved directory's '..' and both parents'
/// link counts follow. Moving a directory below itself is refused.
/// </summary>
public sealed partial class XfsFileSystem
{
    public void Rename(ulong fromDirectory, string fromName, ulong toDirectory, string toName)
    {
        var target = Writable();
        if (fromDirectory == toDirectory && fromName == toName)
        {
            return;
        }
        CheckName(toName);
        var tx = new XfsTransaction(this);
        var (fromRaw, fromDir, fromEntries) = Staged(tx, fromDirectory);
        var source = fromEntries.Find(e => e.Name == fromName) ?? throw new FileNotFoundException($"'{fromName}' does not exist in directory inode {fromDirectory}.");
        var moved = ReadInode(source.Inode);
        bool same = fromDirectory == toDirectory;
        var (toRaw, toDir, toEntries) = same ? (fromRaw, fromDir, fromEntries) : Staged(tx, toDirectory);
        var existing = toEntries.Find(e => e.Name == toName);
        if (existing is not null)
        {
            if (existing.Inode == source.Inode)
            {
                return;
            }
            if (ReadInode(existing.Inode).IsDirectory || moved.IsDirectory)
            {
                throw new IOException($"renaming '{fromName}' onto '{toName}': only a non-directory replaces a non-directory.");
            }
            toEntries.Remove(existing);
            DropLink(tx, existing.Inode);
        }
        if (moved.IsDirectory && !same)
        {
            ulong at = toDirectory;
            for (int depth = 0; at != RootNode; depth++)
            {
                if (at == source.Inode)
                {
                    throw new IOException($"renaming directory '{fromName}' into itself.");
                }
                if (depth > 4096)
                {
                    throw Damaged($"directory inode {toDirectory} does not reach the root through '..'");
                }
                at = ParentOf(ReadInode(at));
            }
        }
        fromEntries.Remove(source);
        toEntries.Add(source with { Name = toName });
        if (moved.IsDirectory && !same)
        {
            SetLinks(fromRaw, fromDir.Links - 1);
            SetLinks(toRaw, toDir.Links + 1);
            var (movedRaw, movedDir, movedEntries) = Staged(tx, source.Inode);
            Stamp(movedRaw, movedDir, modify: false);
            FinishDirectory(tx, movedDir, movedRaw, movedEntries, touch: false, parent: toDirectory);
        }
        else
        {
            var raw = tx.StagedInode(source.Inode) ?? (byte[])moved.Raw.Clone();
            Stamp(raw, moved, modify: false);
            tx.Inode(source.Inode, raw);
        }
        FinishDirectory(tx, fromDir, fromRaw, fromEntries, touch: true);
        if (!same)
        {
            FinishDirectory(tx, toDir, toRaw, toEntries, touch: true);
        }
        tx.Commit(target);
    }
}
