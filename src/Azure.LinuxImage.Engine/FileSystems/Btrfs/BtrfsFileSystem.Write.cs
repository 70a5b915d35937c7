using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.FileSystems.Btrfs;

/// <summary>
/// Writing is refused, before anything reaches the volume: a correct btrfs write is copy-on-write
/// of every tree block up to the roots with the extent tree's back references, the checksum tree,
/// the free space tree and the superblock mirrors, and none of that is implemented yet.
/// </summary>
public sealed partial class BtrfsFileSystem
{
    public void ReplaceContent(ulong node, ReadOnlySpan<byte> content) => throw WriteRefused();

    public ulong CreateFile(ulong directory, string name, ReadOnlySpan<byte> content, int mode, int uid, int gid) => throw WriteRefused();

    public ulong CreateDirectory(ulong directory, string name, int mode, int uid, int gid) => throw WriteRefused();

    public ulong CreateSymlink(ulong directory, string name, string target, int uid, int gid) => throw WriteRefused();

    public void Delete(ulong directory, string name) => throw WriteRefused();

    public void Rename(ulong fromDirectory, string fromName, ulong toDirectory, string toName) => throw WriteRefused();

    public void SetMode(ulong node, int permissions) => throw WriteRefused();

    private LinuxImageException WriteRefused() => new(DiagnosticCatalog.BtrfsWriteUnsupported, Source, Source, WriteRefusal!);
}
