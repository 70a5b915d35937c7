using System.Buffers.Binary;
using System.Text;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>
/// Extended attributes kept in the inode's attribute fork (xfs_attr_shortform): a total size and
/// count, then entries of name length, value length, namespace flags, name and value.
/// </summary>
internal static class XfsAttrShortform
{
    public static void Read(XfsFileSystem fs, XfsInode inode, Dictionary<string, byte[]> result)
    {
        var fork = inode.AttrFork;
        if (fork.Length < 4)
        {
            throw fs.Damaged($"inode {inode.Number} has a short-form attribute fork of {fork.Length} bytes");
        }
        int total = BinaryPrimitives.ReadUInt16BigEndian(fork);
        int count = fork[2];
        if (total < 4 || total > fork.Length)
        {
            throw fs.Damaged($"inode {inode.Number} has short-form attributes of {total} bytes in a fork of {fork.Length}");
        }
        int p = 4;
        for (int i = 0; i < count; i++)
        {
            if (p + 3 > total)
            {
                throw fs.Damaged($"inode {inode.Number} has short-form attribute {i} beyond the attribute area");
            }
            int nameLength = fork[p];
            int valueLength = fork[p + 1];
            byte flags = fork[p + 2];
            if (p + 3 + nameLength + valueLength > total)
            {
                throw fs.Damaged($"inode {inode.Number} has short-form attribute {i} beyond the attribute area");
            }
            string? name = XfsAttrLeaf.FullName(flags, fork.Slice(p + 3, nameLength));
            if (name is not null)
            {
                result[name] = fork.Slice(p + 3 + nameLength, valueLength).ToArray();
            }
            p += 3 + nameLength + valueLength;
        }
    }
}
