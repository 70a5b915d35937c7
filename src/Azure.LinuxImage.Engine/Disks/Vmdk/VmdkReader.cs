using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vmdk;

/// <summary>VMDK (VMware Virtual Disk Format 1.1): hosted sparse ("KDMV") files and text descriptors.</summary>
public sealed class VmdkReader : IDiskFormatReader
{
    public string Name => "vmdk";

    public bool Probe(SourceFile file, ReadOnlySpan<byte> head) => VmdkSparseHeader.HasMagic(head) || VmdkDescriptor.LooksLikeDescriptor(head);

    public IDiskImage Open(SourceFile file, DiskOpenContext context) => VmdkDiskImage.Open(file, context);
}
