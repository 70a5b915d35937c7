using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vhdx;

/// <summary>VHDX (Microsoft VHDX Format Specification v1.0), recognised by its "vhdxfile" identifier.</summary>
public sealed class VhdxReader : IDiskFormatReader
{
    public string Name => "vhdx";

    public bool Probe(SourceFile file, ReadOnlySpan<byte> head) => head.StartsWith(VhdxFile.Identifier);

    public IDiskImage Open(SourceFile file, DiskOpenContext context) => VhdxDiskImage.Open(file, context);
}
