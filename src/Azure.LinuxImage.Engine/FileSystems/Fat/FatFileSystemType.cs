using System.Buffers.Binary;
using System.Globalization;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.FileSystems.Fat;

/// <summary>Recognises FAT12/16/32 volumes (the EFI system partition; /boot/efi, /efi or /boot in fstab).</summary>
public sealed class FatFileSystemType : IFileSystemType
{
    public IReadOnlyList<string> FstabTypes { get; } = ["vfat", "msdos", "fat"];

    public bool Probe(IReadableVolume volume)
    {
        ArgumentNullException.ThrowIfNull(volume);
        if (volume.Length < FatBootSector.Size)
        {
            return false;
        }
        Span<byte> sector = stackalloc byte[FatBootSector.Size];
        volume.ReadAt(0, sector);
        return FatBootSector.TryParse(sector, volume.Length, out _) is not null;
    }

    /// <summary>The volume serial as a <see cref="Guid"/> (see <see cref="FatVolumeSerial"/>) and the boot sector's label.</summary>
    public (Guid? Uuid, string? Label) Identify(IReadableVolume volume)
    {
        ArgumentNullException.ThrowIfNull(volume);
        if (volume.Length < FatBootSector.Size)
        {
            return (null, null);
        }
        var sector = volume.ReadBytes(0, FatBootSector.Size);
        var boot = FatBootSector.TryParse(sector, volume.Length, out _);
        return boot is null ? (null, null) : (FatVolumeSerial.ToGuid(boot.VolumeSerial), boot.Label);
    }

    public IFileSystem Open(IReadableVolume volume, string source, string options) => FatFileSystem.Open(volume, source, options);
}

/// <summary>
/// A FAT volume has a 32-bit serial, not a UUID: fstab and blkid write it as <c>UUID=ABCD-1234</c>
/// (the high 16 bits first). So that it fits the seam's <see cref="Guid"/> identity, the serial is
/// carried in a fixed, otherwise-unused Guid form, and <see cref="Matches"/> compares an fstab
/// UUID string against a volume's Guid for both kinds of identity.
/// </summary>
public static class FatVolumeSerial
{
    /// <summary>The serial 0xABCD1234 becomes 00000000-0000-0000-fa70-0000abcd1234 (no real UUID has this form: variant bits 0b111 are reserved).</summary>
    public static Guid ToGuid(uint serial)
    {
        Span<byte> b = stackalloc byte[16];
        b[8] = 0xFA;
        b[9] = 0x70;
        BinaryPrimitives.WriteUInt32BigEndian(b[12..], serial);
        return new Guid(b, bigEndian: true);
    }

    /// <summary>The serial a Guid made by <see cref="ToGuid"/> carries, or null for any other Guid.</summary>
    public static uint? FromGuid(Guid id)
    {
        Span<byte> b = stackalloc byte[16];
        id.TryWriteBytes(b, bigEndian: true, out _);
        if (b[..8].ContainsAnyExcept((byte)0) || b[8] != 0xFA || b[9] != 0x70 || b[10] != 0 || b[11] != 0)
        {
            return null;
        }
        return BinaryPrimitives.ReadUInt32BigEndian(b[12..]);
    }

    /// <summary>Parses the fstab / blkid form <c>ABCD-1234</c> (either case).</summary>
    public static bool TryParse(string text, out uint serial)
    {
        serial = 0;
        ArgumentNullException.ThrowIfNull(text);
        return text.Length == 9 && text[4] == '-'
            && uint.TryParse(string.Concat(text.AsSpan(0, 4), text.AsSpan(5, 4)), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out serial);
    }

    /// <summary>How fstab writes it: <c>ABCD-1234</c>.</summary>
    public static string Format(uint serial) => string.Create(CultureInfo.InvariantCulture, $"{serial >> 16:X4}-{serial & 0xFFFF:X4}");

    /// <summary>
    /// Whether the UUID an fstab line names (the text after <c>UUID=</c>) is the identity
    /// <paramref name="volumeId"/>: a real UUID compared as one, a FAT serial as its Guid form.
    /// </summary>
    public static bool Matches(Guid volumeId, string fstabUuid)
    {
        ArgumentNullException.ThrowIfNull(fstabUuid);
        if (Guid.TryParse(fstabUuid, out var g))
        {
            return g == volumeId;
        }
        return TryParse(fstabUuid, out uint serial) && FromGuid(volumeId) == serial;
    }
}
