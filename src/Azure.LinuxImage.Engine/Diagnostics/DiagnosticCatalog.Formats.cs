namespace Azure.LinuxImage.Engine.Diagnostics;

public static partial class DiagnosticCatalog
{
    // Source formats beyond raw and VHD: VHDX, qcow2, VMDK, VDI (0200–0299). Generic faults
    // (truncated, damaged, parent missing, chain invalid, unsupported feature) use LIMG0101–0108.
    public static readonly DiagnosticDescriptor EncryptedDisk = Define("LIMG0200", DiagnosticSeverity.Error, "R1",
        "Encrypted source disk", "'{0}' is encrypted ({1}); the SDK cannot read encrypted disks. Write a decrypted copy first, e.g. qemu-img convert --object secret,id=sec0,data=... --image-opts ... -O qcow2 decrypted.qcow2, and use that as SourceDisk.");

    public static readonly DiagnosticDescriptor ExternalDataFile = Define("LIMG0201", DiagnosticSeverity.Error, "R1",
        "qcow2 external data file", "'{0}' keeps its guest data in an external data file ('{1}'), which the SDK does not read. Merge it into one image first: qemu-img convert -O qcow2 '{0}' merged.qcow2.");

    public static readonly DiagnosticDescriptor CompressedDataInvalid = Define("LIMG0202", DiagnosticSeverity.Error, "R1",
        "Compressed data does not decompress", "'{0}' is damaged: the compressed {1} at file offset {2} does not decompress ({3}).");

    public static readonly DiagnosticDescriptor VhdxLogReplayed = Define("LIMG0203", DiagnosticSeverity.Warning, "R1",
        "VHDX log replayed in memory", "'{0}' was not closed cleanly (the VM crashed or the host lost power): {1} log entries were replayed in memory to read it. The source file was not changed; attach it once in Hyper-V or run 'qemu-img check -r all' on it to apply the log to the file.");

    public static readonly DiagnosticDescriptor VhdxHeadersInvalid = Define("LIMG0204", DiagnosticSeverity.Error, "R1",
        "VHDX headers damaged", "'{0}' has no valid VHDX header or region table: {1}");

    public static readonly DiagnosticDescriptor VmdkDescriptorInvalid = Define("LIMG0205", DiagnosticSeverity.Error, "R1",
        "VMDK descriptor invalid", "The VMDK descriptor of '{0}' is invalid: {1}");

    public static readonly DiagnosticDescriptor VmdkExtentMissing = Define("LIMG0206", DiagnosticSeverity.Error, "R1",
        "VMDK extent file missing", "The VMDK '{0}' names the extent file '{1}', which does not exist. Copy every file of the disk (the descriptor and all its extent files) into the same folder.");

    public static readonly DiagnosticDescriptor Qcow2MarkedCorrupt = Define("LIMG0207", DiagnosticSeverity.Error, "R1",
        "qcow2 image marked corrupt", "qemu marked '{0}' as corrupt (its metadata is inconsistent). Repair it with 'qemu-img check -r all' and build again.");
}
