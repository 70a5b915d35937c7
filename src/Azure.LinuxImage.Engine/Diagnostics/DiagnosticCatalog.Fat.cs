namespace Azure.LinuxImage.Engine.Diagnostics;

public static partial class DiagnosticCatalog
{
    // FAT12/16/32, the EFI system partition's file system (0360–0379).
    public static readonly DiagnosticDescriptor FatDamaged = Define("LIMG0360", DiagnosticSeverity.Error, "R16",
        "FAT file system damaged", "The FAT file system in '{0}' is damaged: {1}. Run fsck.vfat on the image; nothing was written.");

    public static readonly DiagnosticDescriptor FatNoSpace = Define("LIMG0361", DiagnosticSeverity.Error, "R16",
        "No space left in the FAT file system", "The FAT file system in '{0}' has no free {1} left for '{2}'; nothing further was written.");

    public static readonly DiagnosticDescriptor FatCannotStore = Define("LIMG0362", DiagnosticSeverity.Error, "R16",
        "FAT cannot store this", "The FAT file system in '{0}' cannot store '{1}': {2}.");
}
