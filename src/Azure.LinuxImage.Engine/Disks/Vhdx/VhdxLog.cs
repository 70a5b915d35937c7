using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vhdx;

/// <summary>
/// The VHDX metadata log. A header whose LogGuid is set and a log holding valid entries with that
/// GUID mean updates were logged but maybe not applied (the writer did not close the file). The
/// SDK only reads its source, so it refuses such a disk with <see cref="DiagnosticCatalog.VhdxLogNotEmpty"/>
/// rather than read metadata that may be stale.
/// </summary>
public static class VhdxLog
{
    public const uint EntrySignature = 0x65676F6C; // "loge"
    private const int EntryAlignment = 4096;
    private const long MaxLogLength = 64L * 1024 * 1024;

    /// <summary>Counts the log entries that belong to the header's current log (valid signature, GUID and CRC-32C).</summary>
    public static int CountActiveEntries(SourceFile file, VhdxHeader header)
    {
        if (header.LogGuid == Guid.Empty)
        {
            return 0;
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
        // The log is circular: doubling it lets an entry that wraps around be checked as one span.
        var log = new byte[length * 2];
        file.ReadExactly(offset, log.AsSpan(0, (int)length), "VHDX log");
        log.AsSpan(0, (int)length).CopyTo(log.AsSpan((int)length));
        int active = 0;
        for (int at = 0; at < length; at += EntryAlignment)
        {
            var entry = log.AsSpan(at);
            if (BinaryPrimitives.ReadUInt32LittleEndian(entry) != EntrySignature || new Guid(entry.Slice(32, 16)) != header.LogGuid)
            {
                continue;
            }
            uint entryLength = BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]);
            if (entryLength < EntryAlignment || entryLength % EntryAlignment != 0 || entryLength > length)
            {
                continue;
            }
            uint stored = BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]);
            uint crc = Crc32C.Update(0xFFFFFFFF, entry[..4]);
            crc = Crc32C.Update(crc, [0, 0, 0, 0]);
            crc = ~Crc32C.Update(crc, entry[8..(int)entryLength]);
            if (crc == stored)
            {
                active++;
            }
        }
        return active;
    }
}
