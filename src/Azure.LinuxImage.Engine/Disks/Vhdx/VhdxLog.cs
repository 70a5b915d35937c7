using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vhdx;

/// <summary>The writes of the log's active sequence, in the order they are to be applied.</summary>
public sealed class VhdxLogReplay
{
    private readonly (long Start, long End)[] touched;

    internal VhdxLogReplay(List<(long Offset, long Length, byte[]? Data)> writes, int entries, long flushedFileOffset, long lastFileOffset)
    {
        Writes = writes;
        EntryCount = entries;
        FlushedFileOffset = flushedFileOffset;
        LastFileOffset = lastFileOffset;
        // Merged, sorted ranges so that a read can tell cheaply whether the log touches it.
        var merged = new List<(long Start, long End)>();
        foreach (var (offset, length, _) in writes.OrderBy(w => w.Offset))
        {
            if (merged.Count > 0 && offset <= merged[^1].End)
            {
                merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, offset + length));
            }
            else
            {
                merged.Add((offset, offset + length));
            }
        }
        touched = [.. merged];
    }

    /// <summary>Data writes carry 4 KiB of data; zero writes (Data null) clear their range.</summary>
    public IReadOnlyList<(long Offset, long Length, byte[]? Data)> Writes { get; }

    public int EntryCount { get; }

    public long FlushedFileOffset { get; }

    public long LastFileOffset { get; }

    public bool Overlaps(long offset, long length)
    {
        int lo = 0;
        int hi = touched.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            if (touched[mid].End <= offset)
            {
                lo = mid + 1;
            }
            else if (touched[mid].Start >= offset + length)
            {
                hi = mid - 1;
            }
            else
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Lays every write that overlaps the buffer over it, oldest first.</summary>
    public void Apply(long offset, Span<byte> buffer)
    {
        long end = offset + buffer.Length;
        foreach (var (at, length, data) in Writes)
        {
            long from = Math.Max(at, offset);
            long to = Math.Min(at + length, end);
            if (from >= to)
            {
                continue;
            }
            var target = buffer.Slice((int)(from - offset), (int)(to - from));
            if (data is null)
            {
                target.Clear();
            }
            else
            {
                data.AsSpan((int)(from - at), (int)(to - from)).CopyTo(target);
            }
        }
    }
}

/// <summary>
/// The VHDX metadata log (VHDX specification 2.3). A header whose LogGuid is set means updates may
/// have been logged but not applied (the writer did not close the file). The active sequence of
/// log entries is found and its writes are replayed into a <see cref="VhdxFileView"/> in memory, as a
/// VHDX writer would replay them into the file; the source is never written.
/// </summary>
public static class VhdxLog
{
    public const uint EntrySignature = 0x65676F6C; // "loge"
    public const uint DataDescriptorSignature = 0x63736564; // "desc"
    public const uint ZeroDescriptorSignature = 0x6F72657A; // "zero"
    public const uint DataSectorSignature = 0x61746164; // "data"
    private const int Sector = 4096;
    private const long MaxLogLength = 64L * 1024 * 1024;
    private const long MaxFileOffset = 1L << 50;
    private const int MaxSequenceSteps = 1 << 20;

    private sealed record Entry(ulong Sequence, int Length, long Tail, long FlushedFileOffset, long LastFileOffset, List<(long Offset, long Length, byte[]? Data)> Writes);

    /// <summary>The active sequence's writes, or null when there is nothing to replay.</summary>
    public static VhdxLogReplay? ReadActiveSequence(SourceFile file, VhdxHeader header)
    {
        if (header.LogGuid == Guid.Empty)
        {
            return null;
        }
        string path = file.Path;
        long offset = header.LogOffset > long.MaxValue ? -1 : (long)header.LogOffset;
        long length = header.LogLength;
        if (offset < VhdxFile.HeaderAreaSize || offset % VhdxFile.Alignment != 0 || length == 0 || length % VhdxFile.Alignment != 0
            || offset > file.Length - length)
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, path, path,
                $"the VHDX log ({length} bytes at offset {header.LogOffset}) is not 1 MiB aligned or lies outside the file");
        }
        if (length > MaxLogLength)
        {
            throw new LinuxImageException(DiagnosticCatalog.UnsupportedDiskFeature, path, path, $"a VHDX log of {length} bytes (over {MaxLogLength})");
        }
        // The log is circular: doubling it lets an entry that wraps around be read as one span.
        var log = new byte[length * 2];
        file.ReadExactly(offset, log.AsSpan(0, (int)length), "VHDX log");
        log.AsSpan(0, (int)length).CopyTo(log.AsSpan((int)length));

        var entries = new Dictionary<int, Entry>();
        for (int at = 0; at < length; at += Sector)
        {
            var entry = TryParseEntry(log.AsSpan(at), (int)length, header.LogGuid);
            if (entry is not null)
            {
                entries[at] = entry;
            }
        }
        if (entries.Count == 0)
        {
            return null;
        }

        // A sequence is a run of entries, each starting where the previous ends, with consecutive
        // sequence numbers. The active one has the highest head sequence number, and its head's
        // tail points back into it: replay runs from that tail to the head.
        List<Entry>? best = null;
        ulong bestHead = 0;
        int steps = 0;
        var continued = new HashSet<int>();
        foreach (var (start, entry) in entries)
        {
            int next = (int)((start + entry.Length) % length);
            if (entries.TryGetValue(next, out var following) && following.Sequence == entry.Sequence + 1)
            {
                continued.Add(next);
            }
        }
        // Only entries that continue no other start a sequence; the others are walked from there.
        foreach (var (start, first) in entries.Where(e => !continued.Contains(e.Key)))
        {
            var positions = new List<int> { start };
            var chain = new List<Entry> { first };
            int position = start;
            var current = first;
            while (chain.Count < entries.Count)
            {
                if (++steps > MaxSequenceSteps)
                {
                    throw new LinuxImageException(DiagnosticCatalog.UnsupportedDiskFeature, path, path, "a VHDX log with more entries than the SDK replays");
                }
                int next = (int)((position + current.Length) % length);
                if (!entries.TryGetValue(next, out var following) || following.Sequence != current.Sequence + 1)
                {
                    break;
                }
                positions.Add(next);
                chain.Add(following);
                position = next;
                current = following;
            }
            int tail = positions.IndexOf((int)current.Tail);
            if (tail >= 0 && (best is null || current.Sequence > bestHead))
            {
                best = chain.GetRange(tail, chain.Count - tail);
                bestHead = current.Sequence;
            }
        }
        if (best is null)
        {
            return null;
        }
        var head = best[^1];
        if (file.Length < head.FlushedFileOffset)
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskTruncated, path, path,
                $"the log says the file held {head.FlushedFileOffset} bytes when it was written, but it has {file.Length}");
        }
        var writes = best.SelectMany(e => e.Writes).ToList();
        return new VhdxLogReplay(writes, best.Count, head.FlushedFileOffset, head.LastFileOffset);
    }

    private static Entry? TryParseEntry(ReadOnlySpan<byte> b, int logLength, Guid logGuid)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(b) != EntrySignature || new Guid(b.Slice(32, 16)) != logGuid)
        {
            return null;
        }
        uint entryLength = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]);
        uint tail = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]);
        ulong sequence = BinaryPrimitives.ReadUInt64LittleEndian(b[16..]);
        uint descriptorCount = BinaryPrimitives.ReadUInt32LittleEndian(b[24..]);
        ulong flushed = BinaryPrimitives.ReadUInt64LittleEndian(b[48..]);
        ulong last = BinaryPrimitives.ReadUInt64LittleEndian(b[56..]);
        if (entryLength < Sector || entryLength % Sector != 0 || entryLength > logLength || tail % Sector != 0 || tail >= logLength
            || sequence == 0 || flushed > MaxFileOffset || last > MaxFileOffset)
        {
            return null;
        }
        long descriptorSectors = (64 + (descriptorCount * 32L) + Sector - 1) / Sector;
        if (descriptorSectors * Sector > entryLength)
        {
            return null;
        }
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
        uint crc = Crc32C.Update(0xFFFFFFFF, b[..4]);
        crc = Crc32C.Update(crc, [0, 0, 0, 0]);
        crc = ~Crc32C.Update(crc, b[8..(int)entryLength]);
        if (crc != stored)
        {
            return null;
        }
        var writes = new List<(long, long, byte[]?)>();
        long dataSector = descriptorSectors;
        for (int i = 0; i < descriptorCount; i++)
        {
            var d = b.Slice(64 + (i * 32), 32);
            uint signature = BinaryPrimitives.ReadUInt32LittleEndian(d);
            ulong fileOffset = BinaryPrimitives.ReadUInt64LittleEndian(d[16..]);
            if (BinaryPrimitives.ReadUInt64LittleEndian(d[24..]) != sequence || fileOffset % Sector != 0 || fileOffset > MaxFileOffset)
            {
                return null;
            }
            if (signature == ZeroDescriptorSignature)
            {
                ulong zeroLength = BinaryPrimitives.ReadUInt64LittleEndian(d[8..]);
                if (zeroLength == 0 || zeroLength % Sector != 0 || zeroLength > MaxFileOffset)
                {
                    return null;
                }
                writes.Add(((long)fileOffset, (long)zeroLength, null));
                continue;
            }
            if (signature != DataDescriptorSignature || (dataSector + 1) * Sector > entryLength)
            {
                return null;
            }
            var data = b.Slice((int)(dataSector * Sector), Sector);
            if (BinaryPrimitives.ReadUInt32LittleEndian(data) != DataSectorSignature
                || BinaryPrimitives.ReadUInt32LittleEndian(data[4..]) != (uint)(sequence >> 32)
                || BinaryPrimitives.ReadUInt32LittleEndian(data[4092..]) != (uint)sequence)
            {
                return null;
            }
            // The sector's first 8 and last 4 bytes live in the descriptor, where the data sector keeps its signature and sequence.
            var content = new byte[Sector];
            d.Slice(8, 8).CopyTo(content);
            data.Slice(8, 4084).CopyTo(content.AsSpan(8));
            d.Slice(4, 4).CopyTo(content.AsSpan(4092));
            writes.Add(((long)fileOffset, Sector, content));
            dataSector++;
        }
        return new Entry(sequence, (int)entryLength, tail, (long)flushed, (long)last, writes);
    }
}
