using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Qcow2;

/// <summary>qcow2 versions 2 and 3 (qemu docs/interop/qcow2.txt).</summary>
public sealed class Qcow2Reader : IDiskFormatReader
{
    public string Name => "qcow2";

    public bool Probe(SourceFile file, ReadOnlySpan<byte> head) => Qcow2Header.HasMagic(head);

    public IDiskImage Open(SourceFile file, DiskOpenContext context) => Qcow2DiskImage.Open(file, context);
}
