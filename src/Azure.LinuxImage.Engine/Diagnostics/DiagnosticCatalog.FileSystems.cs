namespace Azure.LinuxImage.Engine.Diagnostics;

public static partial class DiagnosticCatalog
{
    // Partitions, volumes and file systems (0300–0399).
    public static readonly DiagnosticDescriptor PartitionTableDamaged = Define("LIMG0300", DiagnosticSeverity.Error, "R1",
        "Partition table damaged", "The partition table of '{0}' is damaged: {1}");

    public static readonly DiagnosticDescriptor GptChecksumMismatch = Define("LIMG0301", DiagnosticSeverity.Error, "R1",
        "GPT checksum mismatch", "The GPT of '{0}' fails its checksums in both the primary and the backup copy: {1}");

    public static readonly DiagnosticDescriptor LvmMetadataInvalid = Define("LIMG0302", DiagnosticSeverity.Error, "R4",
        "LVM metadata unreadable", "The LVM2 metadata of '{0}' cannot be used: {1}");

    public static readonly DiagnosticDescriptor LvmUnsupportedSegment = Define("LIMG0303", DiagnosticSeverity.Error, "R4",
        "Unsupported LVM segment", "The logical volume '{1}' in '{0}' uses a layout the SDK does not read ({2}); only linear volumes are supported.");

    public static readonly DiagnosticDescriptor Ext4Damaged = Define("LIMG0310", DiagnosticSeverity.Error, "R16",
        "ext file system damaged", "The ext2/3/4 file system in '{0}' is damaged: {1}. Run e2fsck on the image; nothing was written.");

    public static readonly DiagnosticDescriptor Ext4NeedsRecovery = Define("LIMG0311", DiagnosticSeverity.Error, "R16",
        "ext file system not cleanly unmounted", "The ext2/3/4 file system in '{0}' {1}; the SDK never writes such a file system. Shut the guest down cleanly or run e2fsck on the image; nothing was written.");

    public static readonly DiagnosticDescriptor Ext4UnsupportedFeature = Define("LIMG0312", DiagnosticSeverity.Error, "R16",
        "Unsupported ext feature", "The ext2/3/4 file system in '{0}' uses features the SDK cannot {1}: {2}; nothing was written.");

    public static readonly DiagnosticDescriptor Ext4NoSpace = Define("LIMG0313", DiagnosticSeverity.Error, "R16",
        "No space left in the guest file system", "The ext2/3/4 file system in '{0}' has no free {1} left for '{2}'; nothing further was written.");

    public static readonly DiagnosticDescriptor BtrfsDamaged = Define("LIMG0380", DiagnosticSeverity.Error, "R16",
        "btrfs file system damaged", "The btrfs file system in '{0}' is damaged: {1}. Run 'btrfs check --readonly' on the image; nothing was written.");

    public static readonly DiagnosticDescriptor BtrfsUnsupported = Define("LIMG0381", DiagnosticSeverity.Error, "R16",
        "Unsupported btrfs feature", "The btrfs file system in '{0}' uses something the SDK cannot read: {1}; nothing was written.");

    public static readonly DiagnosticDescriptor BtrfsNeedsLogReplay = Define("LIMG0382", DiagnosticSeverity.Error, "R16",
        "btrfs log tree not replayed", "The btrfs file system in '{0}' has a log tree that needs replay (it was not cleanly unmounted); the SDK never reads or writes such a file system. Mount it once read-write and unmount it cleanly, or run 'btrfs rescue zero-log' if losing the last fsync'ed changes is acceptable; nothing was written.");

    public static readonly DiagnosticDescriptor BtrfsSubvolumeNotFound = Define("LIMG0383", DiagnosticSeverity.Error, "R16",
        "btrfs subvolume not found", "The btrfs file system in '{0}' has no subvolume for the mount options '{1}': {2}");

    public static readonly DiagnosticDescriptor BtrfsWriteUnsupported = Define("LIMG0384", DiagnosticSeverity.Error, "R16",
        "btrfs not writable", "The btrfs file system in '{0}' cannot be changed by the SDK: {1}; nothing was written.");

    public static readonly DiagnosticDescriptor BtrfsBlockReferenceUnknown = Define("LIMG0385", DiagnosticSeverity.Error, "R16",
        "btrfs block not reached by its own tree", "The btrfs file system in '{0}' cannot be changed there: the tree block at {1} of tree {2} has {3}, so the SDK cannot move that tree's reference to it; nothing was written.");

    public static readonly DiagnosticDescriptor BtrfsNoSpace = Define("LIMG0386", DiagnosticSeverity.Error, "R16",
        "No space left for btrfs data or metadata", "The btrfs file system in '{0}' has no room for {2}: its {1} block groups are full and no new {1} chunk can be allocated ({3}); nothing was written.");

    public static readonly DiagnosticDescriptor GuestPathNotFound = Define("LIMG0320", DiagnosticSeverity.Error, "R16",
        "Guest path not found", "The guest path '{1}' does not exist in '{0}'.");

    public static readonly DiagnosticDescriptor GuestPathInvalid = Define("LIMG0321", DiagnosticSeverity.Error, "R16",
        "Guest path cannot be used", "The guest path '{1}' in '{0}' cannot be used: {2}");

    public static readonly DiagnosticDescriptor GuestSymlinkLoop = Define("LIMG0322", DiagnosticSeverity.Error, "R16",
        "Too many symbolic links", "Resolving the guest path '{1}' in '{0}' followed more than 40 symbolic links (a loop).");

    public static readonly DiagnosticDescriptor XfsDamaged = Define("LIMG0340", DiagnosticSeverity.Error, "R16",
        "XFS file system damaged", "The XFS file system in '{0}' is damaged: {1}. Run xfs_repair on the image; nothing was written.");

    public static readonly DiagnosticDescriptor XfsNeedsRecovery = Define("LIMG0341", DiagnosticSeverity.Error, "R16",
        "XFS log not clean", "The XFS file system in '{0}' has a log that needs recovery ({1}): it was not cleanly unmounted. The SDK never reads or writes such a file system; shut the guest down cleanly, or mount it once so the kernel replays the log; nothing was written.");

    public static readonly DiagnosticDescriptor XfsUnsupportedFeature = Define("LIMG0342", DiagnosticSeverity.Error, "R16",
        "Unsupported XFS feature", "The XFS file system in '{0}' uses something the SDK cannot {1}: {2}; nothing was written.");

    public static readonly DiagnosticDescriptor XfsNoSpace = Define("LIMG0343", DiagnosticSeverity.Error, "R16",
        "XFS file system full", "The XFS file system in '{0}' has no room for {1}: {2} are needed; nothing was written.");

    public static readonly DiagnosticDescriptor GuestRootNotFound = Define("LIMG0330", DiagnosticSeverity.Error, "R16",
        "Guest root file system not found", "No file system the SDK reads (ext2/3/4, XFS) in '{0}' holds both /etc/fstab and /etc/os-release; the SDK cannot find the guest's root file system. {1}");

    public static readonly DiagnosticDescriptor GuestMountUnresolved = Define("LIMG0331", DiagnosticSeverity.Warning, "R16",
        "fstab entry not found on the disk", "The guest's /etc/fstab mounts '{1}' at '{2}', but no volume on '{0}' matches it; files under '{2}' are read from the root file system.");
}
