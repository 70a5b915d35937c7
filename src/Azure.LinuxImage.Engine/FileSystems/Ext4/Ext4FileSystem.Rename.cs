using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>rename(2) and the directory checks it needs.</summary>
public sealed partial class Ext4FileSystem
{
    /// <summary>Renames (or moves) an entry, replacing a file or empty directory already at the target like rename(2).</summary>
    public void Rename(uint fromParent, string fromName, uint toParent, string toName)
    {
        byte[] fromBytes = NameBytes(fromName);
        byte[] toBytes = NameBytes(toName);
        Change(() =>
        {
            var from = ReadDirectoryInode(fromParent);
            RefuseInline(from, "the source directory");
            uint number = Lookup(from, fromName);
            if (number == 0)
            {
                throw new LinuxImageException(DiagnosticCatalog.GuestPathNotFound, Source, Source, fromName);
            }
            if (fromParent == toParent && fromName == toName)
            {
                return 0;
            }
            var moving = ReadInode(number);
            var to = ReadDirectoryInode(toParent);
            RefuseInline(to, "the target directory");
            if (moving.IsDirectory && IsAncestorOrSelf(number, toParent))
            {
                throw new InvalidOperationException($"Cannot move directory '{fromName}' into itself.");
            }
            uint existing = Lookup(to, toName);
            if (existing == number)
            {
                return 0;
            }
            if (existing != 0)
            {
                var victim = ReadInode(existing);
                if (victim.IsDirectory != moving.IsDirectory)
                {
                    throw new InvalidOperationException($"Cannot replace '{toName}' by an entry of another kind.");
                }
                if (victim.IsDirectory)
                {
                    EnsureEmptyDirectory(victim, toName);
                }
                RemoveEntry(to, toBytes);
                Unlink(victim, toParent);
                to = ReadInode(toParent);
            }
            AddEntry(to, toBytes, number, Ext4Directory.TypeFromMode(moving.Mode));
            from = ReadInode(fromParent);
            RemoveEntry(from, fromBytes);
            moving = ReadInode(number);
            if (moving.IsDirectory && fromParent != toParent)
            {
                SetDotDot(moving, toParent);
                from = ReadInode(fromParent);
                if (from.LinksCount > 2)
                {
                    from.LinksCount--;
                }
                WriteInode(from);
                to = ReadInode(toParent);
                IncrementLinks(to);
                WriteInode(to);
            }
            Touch(moving, modify: false);
            WriteInode(moving);
            return 0;
        });
    }

    private bool IsAncestorOrSelf(uint ancestor, uint dirNumber)
    {
        uint current = dirNumber;
        for (int depth = 0; depth < 4096; depth++)
        {
            if (current == ancestor)
            {
                return true;
            }
            if (current == RootInode)
            {
                return false;
            }
            uint parent = Lookup(ReadInode(current), "..");
            if (parent == 0 || parent == current)
            {
                return false;
            }
            current = parent;
        }
        throw Damaged("the directory tree's '..' entries form a loop");
    }

    private void IncrementLinks(Ext4Inode dir)
    {
        // dir_nlink: past 65000 links a directory's count is pinned at 1 ("many").
        if (dir.LinksCount == 1 || dir.LinksCount >= 64999)
        {
            if ((Superblock.FeatureRoCompat & Ext4Superblock.RoCompatDirNlink) == 0 && dir.LinksCount >= 64999)
            {
                throw new LinuxImageException(DiagnosticCatalog.Ext4NoSpace, Source, Source, "directory links", $"inode {dir.Number}");
            }
            dir.LinksCount = 1;
        }
        else
        {
            dir.LinksCount++;
        }
        Touch(dir, modify: true);
    }

    private void EnsureAbsent(Ext4Inode dir, string name)
    {
        if (Lookup(dir, name) != 0)
        {
            throw new InvalidOperationException($"'{name}' already exists in directory inode {dir.Number}.");
        }
    }

    private void EnsureEmptyDirectory(Ext4Inode dir, string name)
    {
        if (ReadDirectory(dir).Any(e => e.Name is not "." and not ".."))
        {
            throw new InvalidOperationException($"The directory '{name}' is not empty.");
        }
    }
}
