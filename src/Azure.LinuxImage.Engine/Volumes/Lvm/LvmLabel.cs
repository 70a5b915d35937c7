using System.Buffers.Binary;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Volumes.Lvm;

/// <summary>
/// An LVM2 physical volume: the label ("LABELONE" in one of the first four sectors), the PV header
/// with its data and metadata areas, and the current text metadata from the first metadata area.
/// </summary>
public sealed record LvmPhysicalVolume(string Uuid, IReadableVolume Volume, string Metadata)
{
    private static readonly byte[] LabelMagic = "LABELONE"u8.ToArray();
    private static readonly byte[] LabelType = "LVM2 001"u8.ToArray();
    private static readonly byte[] MdaMagic = " LVM2 x[5A%r0N*>"u8.ToArray();
    private const int MaxMetadataBytes = 16 * 1024 * 1024;

    public static bool Probe(IReadableVolume volume)
    {
        for (int s = 0; s < 4; s++)
        {
            if (volume.Length >= (s + 1) * 512L && volume.ReadBytes(s * 512L, 8).AsSpan().SequenceEqual(LabelMagic))
            {
                return true;
            }
        }
        return false;
    }

    public static LvmPhysicalVolume Read(IReadableVolume volume, string source)
    {
        for (int s = 0; s < 4; s++)
        {
            if (volume.Length < (s + 1) * 512L)
            {
                break;
            }
            var sector = volume.ReadBytes(s * 512L, 512);
            if (!sector.AsSpan(0, 8).SequenceEqual(LabelMagic) || !sector.AsSpan(24, 8).SequenceEqual(LabelType))
            {
                continue;
            }
            uint offset = BinaryPrimitives.ReadUInt32LittleEndian(sector.AsSpan(20));
            if (offset < 32 || offset > 512 - 40)
            {
                throw Invalid(source, "the PV header offset is invalid");
            }
            var pv = sector.AsSpan((int)offset);
            string uuid = Encoding.ASCII.GetString(pv[..32]);
            int at = 40;
            // Data area list, then metadata area list, each ended by a zero entry.
            at = SkipList(pv, at, source);
            var mdas = new List<(ulong Offset, ulong Size)>();
            while (true)
            {
                if (at + 16 > pv.Length)
                {
                    throw Invalid(source, "the metadata area list runs past the label sector");
                }
                ulong o = BinaryPrimitives.ReadUInt64LittleEndian(pv[at..]);
                ulong z = BinaryPrimitives.ReadUInt64LittleEndian(pv[(at + 8)..]);
                at += 16;
                if (o == 0)
                {
                    break;
                }
                mdas.Add((o, z));
            }
            if (mdas.Count == 0)
            {
                throw Invalid(source, "the physical volume has no metadata area");
            }
            return new LvmPhysicalVolume(uuid, volume, ReadMetadata(volume, source, mdas[0].Offset, mdas[0].Size));
        }
        throw Invalid(source, "no LVM2 label in the first four sectors");
    }

    private static int SkipList(ReadOnlySpan<byte> pv, int at, string source)
    {
        while (true)
        {
            if (at + 16 > pv.Length)
            {
                throw Invalid(source, "the data area list runs past the label sector");
            }
            ulong o = BinaryPrimitives.ReadUInt64LittleEndian(pv[at..]);
            at += 16;
            if (o == 0)
            {
                return at;
            }
        }
    }

    private static string ReadMetadata(IReadableVolume volume, string source, ulong mdaOffset, ulong mdaSize)
    {
        if (mdaSize < 1024 || mdaOffset > (ulong)volume.Length || mdaSize > (ulong)volume.Length - mdaOffset)
        {
            throw Invalid(source, "the metadata area lies outside the volume");
        }
        var header = volume.ReadBytes((long)mdaOffset, 512);
        if (!header.AsSpan(4, 16).SequenceEqual(MdaMagic))
        {
            throw Invalid(source, "the metadata area header has no LVM2 magic");
        }
        ulong start = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(24));
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(32));
        if (start != mdaOffset || size != mdaSize)
        {
            throw Invalid(source, "the metadata area header disagrees with the PV header");
        }
        ulong textOffset = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(40));
        ulong textSize = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(48));
        if (textOffset == 0 || textSize == 0)
        {
            throw Invalid(source, "the metadata area holds no metadata");
        }
        if (textSize > MaxMetadataBytes || textOffset < 512 || textOffset >= mdaSize || textSize > mdaSize - 512)
        {
            throw Invalid(source, "the metadata location is invalid");
        }
        var text = new byte[textSize];
        // The area is a ring buffer after its 512-byte header: the text may wrap to the start.
        ulong first = Math.Min(textSize, mdaSize - textOffset);
        volume.ReadAt((long)(mdaOffset + textOffset), text.AsSpan(0, (int)first));
        if (first < textSize)
        {
            volume.ReadAt((long)(mdaOffset + 512), text.AsSpan((int)first));
        }
        return Encoding.UTF8.GetString(text).TrimEnd('\0');
    }

    private static LinuxImageException Invalid(string source, string what) => new(DiagnosticCatalog.LvmMetadataInvalid, source, source, what);
}
