using System.Buffers.Binary;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Raw;

/// <summary>
/// Decides whether a file that no container format claims is plausibly a raw disk. Treating any
/// file as raw would turn a typo in SourceDisk (a text file, an archive) into a garbage image, so
/// a raw disk must show something a disk has.
/// </summary>
public static class RawDiskReader
{
    public static bool LooksLikeDisk(SourceFile file, ReadOnlySpan<byte> head, out string reason)
    {
        if (file.Length == 0)
        {
            reason = "the file is empty";
            return false;
        }
        if (head.Length >= 512 && head[510] == 0x55 && head[511] == 0xAA)
        {
            reason = "MBR boot signature";
            return true;
        }
        if (Has(head, 512, "EFI PART"u8) || Has(head, 512, "LABELONE"u8) || Has(head, 0, "XFSB"u8) || Has(head, 0, "hsqs"u8)
            || Has(head, 4086, "SWAPSPACE2"u8) || Has(head, 32769, "CD001"u8))
        {
            reason = "a partition table or file system signature";
            return true;
        }
        if (head.Length >= 1082 && BinaryPrimitives.ReadUInt16LittleEndian(head[1080..]) == 0xEF53)
        {
            reason = "an ext2/3/4 superblock";
            return true;
        }
        if (head.Length == DiskImageOpener.ProbeLength && !head.ContainsAnyExcept((byte)0))
        {
            // A disk whose first 64 KiB are empty: a blank or not yet partitioned disk.
            reason = "a blank disk";
            return true;
        }
        reason = "it has no container header, partition table or file system signature";
        return false;
    }

    private static bool Has(ReadOnlySpan<byte> head, int offset, ReadOnlySpan<byte> magic) =>
        head.Length >= offset + magic.Length && head.Slice(offset, magic.Length).SequenceEqual(magic);
}
