using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vdi;

/// <summary>VirtualBox VDI, recognised by the signature 0xBEDA107F after the text banner.</summary>
public sealed class VdiReader : IDiskFormatReader
{
    public string Name => "vdi";

    public bool Probe(SourceFile file, ReadOnlySpan<byte> head) => VdiHeader.HasSignature(head);

    public IDiskImage Open(SourceFile file, DiskOpenContext context) => VdiDiskImage.Open(file, context);
}
