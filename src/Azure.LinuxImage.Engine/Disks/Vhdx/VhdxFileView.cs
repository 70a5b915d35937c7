using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vhdx;

/// <summary>
/// The VHDX file as its metadata would be after the log is replayed: the file's bytes with the log's
/// writes laid over them, in memory. The source file is never written. Without a log to replay it is
/// the file itself.
/// </summary>
public sealed class VhdxFileView
{
    private readonly SourceFile file;
    private readonly VhdxLogReplay? replay;

    public VhdxFileView(SourceFile file, VhdxLogReplay? replay = null)
    {
        this.file = file;
        this.replay = replay;
        Length = replay is null ? file.Length : Math.Max(file.Length, replay.LastFileOffset);
    }

    public SourceFile File => file;

    public string Path => file.Path;

    /// <summary>The file's length, extended to the log's last file offset when the log grew the file.</summary>
    public long Length { get; }

    public bool HasOverlay => replay is not null && replay.Writes.Count > 0;

    /// <summary>True when [offset, offset + length) is touched by a replayed write.</summary>
    public bool Overlaps(long offset, long length) => replay is not null && replay.Overlaps(offset, length);

    public void ReadExactly(long offset, Span<byte> buffer, string what)
    {
        if (replay is null || offset + buffer.Length <= file.Length && !replay.Overlaps(offset, buffer.Length))
        {
            file.ReadExactly(offset, buffer, what);
            return;
        }
        if (offset < 0 || offset > Length - buffer.Length)
        {
            // Let the file report it, with its usual message.
            file.ReadExactly(offset, buffer, what);
            return;
        }
        // Past the file's end but within the log's last file offset: the writer had extended the file with zeros.
        int inFile = (int)Math.Clamp(file.Length - offset, 0, buffer.Length);
        if (inFile > 0)
        {
            file.ReadExactly(offset, buffer[..inFile], what);
        }
        buffer[inFile..].Clear();
        replay.Apply(offset, buffer);
    }
}
