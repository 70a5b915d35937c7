using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// A short-form directory (xfs_dir2_sf) in the inode's data fork: a header with the parent's
/// number, then entries of name length, offset tag, name, file type (with ftype) and a 4- or
/// 8-byte inode number.
/// </summary>
internal static class XfsDirShortform
{
    public static List<XfsDirEntry> Read(XfsFileSystem fs, XfsInode dir)
    {
        var fork = dir.DataFork;
        if (dir.Size < 6 || dir.Size > fork.Length)
        {
            throw fs.Damaged($"short-form directory inode {dir.Number} has size {dir.Size} in a fork of {fork.Length} bytes");
        }
        var body = fork[..(int)dir.Size];
        int count = body[0];
        int i8 = body[1];
        int ino = i8 > 0 ? 8 : 4;
        bool ftype = fs.Superblock.HasFtype;
        if (body.Length < 2 + ino)
        {
            throw fs.Damaged($"short-form directory inode {dir.Number} is too short for its header");
        }
        var result = new List<XfsDirEntry> { new("..", ReadIno(body[2..], ino), XfsDirEntry.TypeDirectory) };
        int p = 2 + ino;
        for (int e = 0; e < (i8 > 0 ? Math.Max(count, i8) : count); e++)
        {
            if (p + 3 > body.Length)
            {
                throw fs.Damaged($"short-form directory inode {dir.Number} has entry {e} beyond its size");
            }
            int nameLength = body[p];
            int size = 3 + nameLength + (ftype ? 1 : 0) + ino;
            if (nameLength == 0 || p + size > body.Length)
            {
                throw fs.Damaged($"short-form directory inode {dir.Number} has entry {e} with name length {nameLength} beyond its size");
            }
            string name = Encoding.UTF8.GetString(body.Slice(p + 3, nameLength));
            byte type = ftype ? body[p + 3 + nameLength] : XfsDirEntry.TypeUnknown;
            result.Add(new XfsDirEntry(name, ReadIno(body[(p + 3 + nameLength + (ftype ? 1 : 0))..], ino), type));
            p += size;
        }
        if (p != body.Length)
        {
            throw fs.Damaged($"short-form directory inode {dir.Number} has {body.Length - p} bytes after its {count} entries");
        }
        return result;
    }

    private static ulong ReadIno(ReadOnlySpan<byte> s, int size) =>
        size == 8 ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt32BigEndian(s);
}
