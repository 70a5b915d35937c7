using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Ext4;

/// <summary>
/// The changes: every public method checks what it needs (features, space, names), works in a
/// private copy-on-write layer and ends with <see cref="Commit"/>; only then are its bytes copied to
/// the volume. A change that fails half-way (no space, damage found while working) leaves the volume
/// exactly as it was and drops the in-memory allocation state.
/// </summary>
public sealed partial class Ext4FileSystem
{
    private int SectorsPerBlock => BlockSize / 512;

    private T Change<T>(Func<T> action)
    {
        EnsureWritable();
        byte[] sbBefore = (byte[])Superblock.Raw.Clone();
        byte[][] gdBefore = [.. Enumerable.Range(0, (int)groups.Count).Select(g => groups.Raw((uint)g).ToArray())];
        var layer = new IO.DiskOverlay(volume);
        T result;
        try
        {
            io = layer;
            result = action();
            Commit();
        }
        catch
        {
            sbBefore.CopyTo(Superblock.Raw, 0);
            for (int g = 0; g < gdBefore.Length; g++)
            {
                gdBefore[g].CopyTo(groups.Raw((uint)g));
            }
            blockBitmaps.Clear();
            inodeBitmaps.Clear();
            dirtyGroups.Clear();
            throw;
        }
        finally
        {
            io = volume;
        }
        var target = (IO.IWritableVolume)volume;
        foreach (var (start, chunk) in layer.Chunks)
        {
            target.WriteAt(start, chunk.AsSpan(0, (int)Math.Min(IO.DiskOverlay.ChunkSize, volume.Length - start)));
        }
        return result;
    }

    private static byte[] NameBytes(string name)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(name);
        if (bytes.Length == 0 || bytes.Length > 255 || name == "." || name == ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' is not a valid file name.", nameof(name));
        }
        return bytes;
    }

    private void RefuseInline(Ext4Inode inode, string what)
    {
        if ((inode.Flags & (Ext4Inode.FlagEncrypt | Ext4Inode.FlagVerity | Ext4Inode.FlagCasefold)) != 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.Ext4UnsupportedFeature, Source, Source, "write",
                $"{what} (inode {inode.Number}) uses encryption, verity or casefolding, which this engine only reads");
        }
    }

    private void Touch(Ext4Inode inode, bool modify)
    {
        var now = Clock();
        inode.SetTime(Ext4Inode.TimeField.Change, now);
        if (modify)
        {
            inode.SetTime(Ext4Inode.TimeField.Modify, now);
        }
    }
}
