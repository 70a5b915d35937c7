namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

public sealed partial class Ext4FileSystem
{
    /// <summary>Sets the permission bits (and setuid/setgid/sticky) of an inode, keeping its type.</summary>
    public void SetMode(uint inodeNumber, int permissions)
    {
        Change(() =>
        {
            var inode = ReadInode(inodeNumber);
            inode.Mode = (inode.Mode & Ext4Inode.ModeTypeMask) | (permissions & 0xFFF);
            Touch(inode, modify: false);
            WriteInode(inode);
            return 0;
        });
    }
}
