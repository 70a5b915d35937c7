using System.Buffers.Binary;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>XFS, recognised by "XFSB" at the start of the volume.</summary>
public sealed class XfsFileSystemType : IFileSystemType
{
    public IReadOnlyList<string> FstabTypes { get; } = ["xfs"];

    public bool Probe(IReadableVolume volume)
    {
        if (volume.Length < 4096)
        {
            return false;
        }
        return BinaryPrimitives.ReadUInt32BigEndian(volume.ReadBytes(0, 4)) == XfsSuperblock.Magic;
    }

    public (Guid? Uuid, string? Label) Identify(IReadableVolume volume)
    {
        if (volume.Length < 512)
        {
            return (null, null);
        }
        var sb = XfsSuperblock.TryParse(volume.ReadBytes(0, 512), out _);
        return (sb?.Uuid, sb is null || sb.Label.Length == 0 ? null : sb.Label);
    }

    public IFileSystem Open(IReadableVolume volume, string source, string options) => XfsFileSystem.Open(volume, source);
}
