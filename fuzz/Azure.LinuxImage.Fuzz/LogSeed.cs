using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Disks.Vhdx;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Fuzz;

/// <summary>
/// Makes a VHDX seed with a log to replay (qemu-img never leaves one behind): one entry at the start
/// of the log that rewrites the first BAT sector unchanged and zeroes 4 KiB of the second MiB of the
/// file's data area, with the log GUID set in both headers. Mutating it reaches the log replay code.
/// </summary>
internal static class LogSeed
{
    public static int Make(string input, string output)
    {
        File.Copy(input, output, overwrite: true);
        long batOffset;
        using (var file = SourceFile.Open(output))
        {
            batOffset = VhdxRegionTable.Read(file).Single(r => r.Id == VhdxRegionTable.BatRegion).Offset;
        }
        using var stream = new FileStream(output, FileMode.Open, FileAccess.ReadWrite);
        var bat = new byte[4096];
        stream.Position = batOffset;
        stream.ReadExactly(bat);
        var guid = Guid.NewGuid();
        const ulong sequence = 0x1_0000_0001;
        var entry = new byte[8192];
        BinaryPrimitives.WriteUInt32LittleEndian(entry, VhdxLog.EntrySignature);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(8), (uint)entry.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(16), sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(24), 2);
        guid.TryWriteBytes(entry.AsSpan(32, 16));
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(48), (ulong)stream.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(56), (ulong)stream.Length);
        var desc = entry.AsSpan(64, 32);
        BinaryPrimitives.WriteUInt32LittleEndian(desc, VhdxLog.DataDescriptorSignature);
        bat.AsSpan(4092, 4).CopyTo(desc[4..]);
        bat.AsSpan(0, 8).CopyTo(desc[8..]);
        BinaryPrimitives.WriteUInt64LittleEndian(desc[16..], (ulong)batOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(desc[24..], sequence);
        var zero = entry.AsSpan(96, 32);
        BinaryPrimitives.WriteUInt32LittleEndian(zero, VhdxLog.ZeroDescriptorSignature);
        BinaryPrimitives.WriteUInt64LittleEndian(zero[8..], 4096);
        BinaryPrimitives.WriteUInt64LittleEndian(zero[16..], (ulong)(stream.Length - (1024 * 1024)));
        BinaryPrimitives.WriteUInt64LittleEndian(zero[24..], sequence);
        var sector = entry.AsSpan(4096);
        BinaryPrimitives.WriteUInt32LittleEndian(sector, VhdxLog.DataSectorSignature);
        BinaryPrimitives.WriteUInt32LittleEndian(sector[4..], (uint)(sequence >> 32));
        bat.AsSpan(8, 4084).CopyTo(sector[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(sector[4092..], unchecked((uint)sequence));
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(4), Crc32C.Compute(entry));

        var header = new byte[4096];
        stream.Position = VhdxHeader.FirstOffset;
        stream.ReadExactly(header);
        stream.Position = (long)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(72));
        stream.Write(entry);
        foreach (long at in new[] { VhdxHeader.FirstOffset, VhdxHeader.SecondOffset })
        {
            stream.Position = at;
            stream.ReadExactly(header);
            guid.TryWriteBytes(header.AsSpan(48, 16));
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), 0);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), Crc32C.Compute(header));
            stream.Position = at;
            stream.Write(header);
        }
        return 0;
    }
}
