using System.Buffers.Binary;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// One on-disk inode, kept raw at its full size (any inode size) so that fields we do not touch —
/// the in-inode extended attributes holding SELinux labels among them — are written back unchanged.
/// </summary>
public sealed class Ext4Inode
{
    public const int ModeTypeMask = 0xF000, ModeFile = 0x8000, ModeDirectory = 0x4000, ModeSymlink = 0xA000;
    public const uint FlagIndex = 0x1000, FlagHugeFile = 0x40000, FlagExtents = 0x80000, FlagEaInode = 0x200000, FlagInlineData = 0x10000000,
        FlagEncrypt = 0x800, FlagCasefold = 0x40000000, FlagVerity = 0x100000;
    public const int BlockArrayOffset = 0x28, BlockArraySize = 60;

    internal Ext4Inode(uint number, byte[] raw)
    {
        Number = number;
        Raw = raw;
    }

    public uint Number { get; }

    internal byte[] Raw { get; }

    private ushort U16(int o) => BinaryPrimitives.ReadUInt16LittleEndian(Raw.AsSpan(o));

    private uint U32(int o) => BinaryPrimitives.ReadUInt32LittleEndian(Raw.AsSpan(o));

    private void SetU16(int o, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(Raw.AsSpan(o), v);

    private void SetU32(int o, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(Raw.AsSpan(o), v);

    public int Mode { get => U16(0x0); set => SetU16(0x0, (ushort)value); }

    public int FileType => Mode & ModeTypeMask;

    public bool IsDirectory => FileType == ModeDirectory;

    public bool IsRegular => FileType == ModeFile;

    public bool IsSymlink => FileType == ModeSymlink;

    public int Uid
    {
        get => U16(0x2) | (U16(0x78) << 16);
        set
        {
            SetU16(0x2, (ushort)value);
            SetU16(0x78, (ushort)(value >> 16));
        }
    }

    public int Gid
    {
        get => U16(0x18) | (U16(0x7A) << 16);
        set
        {
            SetU16(0x18, (ushort)value);
            SetU16(0x7A, (ushort)(value >> 16));
        }
    }

    public long Size
    {
        get => (long)(U32(0x4) | ((ulong)U32(0x6C) << 32));
        set
        {
            SetU32(0x4, (uint)value);
            SetU32(0x6C, (uint)((ulong)value >> 32));
        }
    }

    public ushort LinksCount { get => U16(0x1A); set => SetU16(0x1A, value); }

    public uint DeletionTime { get => U32(0x14); set => SetU32(0x14, value); }

    /// <summary>i_blocks in 512-byte sectors, or in file system blocks when the inode has the huge_file flag.</summary>
    public ulong BlocksRaw
    {
        get => U32(0x1C) | ((ulong)U16(0x74) << 32);
        set
        {
            SetU32(0x1C, (uint)value);
            SetU16(0x74, (ushort)(value >> 32));
        }
    }

    public uint Flags { get => U32(0x20); set => SetU32(0x20, value); }

    public uint Generation { get => U32(0x64); set => SetU32(0x64, value); }

    public ulong FileAcl
    {
        get => U32(0x68) | ((ulong)U16(0x76) << 32);
        set
        {
            SetU32(0x68, (uint)value);
            SetU16(0x76, (ushort)(value >> 32));
        }
    }

    public Span<byte> BlockArray => Raw.AsSpan(BlockArrayOffset, BlockArraySize);

    /// <summary>i_extra_isize, or 0 for 128-byte inodes.</summary>
    public int ExtraSize => Raw.Length > 128 ? U16(0x80) : 0;

    public uint AccessTime => U32(0x8);

    public uint ChangeTime => U32(0xC);

    public uint ModifyTime => U32(0x10);

    /// <summary>Sets a timestamp's seconds and, when the inode is large enough, its nanoseconds and epoch bits.</summary>
    internal void SetTime(TimeField field, DateTimeOffset when)
    {
        long seconds = when.ToUnixTimeSeconds();
        uint nanos = (uint)(when.UtcTicks % TimeSpan.TicksPerSecond * 100);
        (int baseOffset, int extraOffset) = field switch
        {
            TimeField.Access => (0x8, 0x8C),
            TimeField.Change => (0xC, 0x84),
            TimeField.Modify => (0x10, 0x88),
            _ => (0x90, 0x94),
        };
        if (field == TimeField.Create && ExtraSize < 0x18)
        {
            return;
        }
        SetU32(baseOffset, (uint)seconds);
        if (Raw.Length > 128 && 128 + ExtraSize >= extraOffset + 4)
        {
            uint epoch = (uint)((seconds - (int)(uint)seconds) >> 32) & 3;
            SetU32(extraOffset, (nanos << 2) | epoch);
        }
    }

    internal enum TimeField
    {
        Access,
        Change,
        Modify,
        Create,
    }
}
