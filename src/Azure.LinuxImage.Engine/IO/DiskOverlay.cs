namespace Azure.LinuxImage.Engine.IO;

/// <summary>
/// A copy-on-write layer over a read-only volume: writes land in memory, reads see them over the
/// base. This is how the guest is patched without touching the source: the file systems write into
/// an overlay, and the build applies only the overlay's chunks to the output image.
/// </summary>
public sealed class DiskOverlay : IWritableVolume
{
    public const int ChunkSize = 4096;

    private readonly IReadableVolume baseVolume;
    private readonly SortedDictionary<long, byte[]> chunks = [];

    public DiskOverlay(IReadableVolume baseVolume)
    {
        this.baseVolume = baseVolume ?? throw new ArgumentNullException(nameof(baseVolume));
    }

    public long Length => baseVolume.Length;

    /// <summary>The written chunks by chunk-aligned offset (the last chunk may extend past <see cref="Length"/> only if the volume is not chunk-aligned; it is clipped).</summary>
    public IReadOnlyDictionary<long, byte[]> Chunks => chunks;

    public bool IsEmpty => chunks.Count == 0;

    public void ReadAt(long offset, Span<byte> buffer)
    {
        this.CheckRange(offset, buffer.Length);
        while (!buffer.IsEmpty)
        {
            long chunkStart = offset / ChunkSize * ChunkSize;
            int inChunk = (int)(offset - chunkStart);
            int n = Math.Min(buffer.Length, ChunkSize - inChunk);
            if (chunks.TryGetValue(chunkStart, out var chunk))
            {
                chunk.AsSpan(inChunk, n).CopyTo(buffer);
            }
            else
            {
                baseVolume.ReadAt(offset, buffer[..n]);
            }
            offset += n;
            buffer = buffer[n..];
        }
    }

    public void WriteAt(long offset, ReadOnlySpan<byte> data)
    {
        this.CheckRange(offset, data.Length);
        while (!data.IsEmpty)
        {
            long chunkStart = offset / ChunkSize * ChunkSize;
            int inChunk = (int)(offset - chunkStart);
            int n = Math.Min(data.Length, ChunkSize - inChunk);
            if (!chunks.TryGetValue(chunkStart, out var chunk))
            {
                chunk = new byte[ChunkSize];
                int valid = (int)Math.Min(ChunkSize, Length - chunkStart);
                baseVolume.ReadAt(chunkStart, chunk.AsSpan(0, valid));
                chunks[chunkStart] = chunk;
            }
            data[..n].CopyTo(chunk.AsSpan(inChunk));
            offset += n;
            data = data[n..];
        }
    }

    /// <summary>
    /// The ranges whose bytes differ from the base, as (offset, bytes), merged where adjacent.
    /// Chunks written back to their original content are dropped, so re-applying an unchanged
    /// setting changes nothing on disk.
    /// </summary>
    public IReadOnlyList<(long Offset, byte[] Data)> GetChanges()
    {
        var result = new List<(long Offset, byte[] Data)>();
        var original = new byte[ChunkSize];
        long runStart = -1;
        var run = new List<byte[]>();
        foreach (var (start, chunk) in chunks)
        {
            int valid = (int)Math.Min(ChunkSize, Length - start);
            baseVolume.ReadAt(start, original.AsSpan(0, valid));
            if (chunk.AsSpan(0, valid).SequenceEqual(original.AsSpan(0, valid)))
            {
                continue;
            }
            if (runStart >= 0 && runStart + (run.Count * (long)ChunkSize) != start)
            {
                result.Add((runStart, Concat(run)));
                run.Clear();
                runStart = -1;
            }
            if (runStart < 0)
            {
                runStart = start;
            }
            run.Add(chunk.AsSpan(0, valid).ToArray());
        }
        if (runStart >= 0)
        {
            result.Add((runStart, Concat(run)));
        }
        return result;
    }

    private static byte[] Concat(List<byte[]> parts)
    {
        var all = new byte[parts.Sum(p => p.Length)];
        int at = 0;
        foreach (var p in parts)
        {
            p.CopyTo(all, at);
            at += p.Length;
        }
        return all;
    }
}
