using System.Buffers.Binary;
using System.IO.Hashing;
using Azure.LinuxImage.Engine.Conversion;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Patching;

/// <summary>
/// The undo log of the patch step: the original bytes of every range the last patch may have
/// changed, tied to one image by its VHD unique id. With it the unpatched image is always
/// recoverable, so a changed setting re-patches only the bytes concerned — whatever the disk's size —
/// and a patch interrupted half-way is undone and redone by the next build.
/// </summary>
public sealed class PatchJournal
{
    private static ReadOnlySpan<byte> Magic => "LIMGJRN1"u8;

    /// <summary>Bounds what a damaged journal can make us allocate; patches touch kilobytes to a few MiB.</summary>
    private const long MaxJournalBytes = 1L << 30;

    public PatchJournal(Guid imageId, IReadOnlyList<(long Offset, byte[] Original)> ranges)
    {
        ImageId = imageId;
        Ranges = ranges;
    }

    public Guid ImageId { get; }

    /// <summary>Non-overlapping, ascending ranges with the bytes the unpatched image holds there.</summary>
    public IReadOnlyList<(long Offset, byte[] Original)> Ranges { get; }

    public static PatchJournal? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        var info = new FileInfo(path);
        if (info.Length > MaxJournalBytes)
        {
            throw Damaged(path, "it is larger than any patch");
        }
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < Magic.Length + 16 + 4 + 4 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw Damaged(path, "it has no journal header");
        }
        var body = bytes.AsSpan(0, bytes.Length - 4);
        if (Crc32.HashToUInt32(body) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)))
        {
            throw Damaged(path, "its checksum does not match");
        }
        var span = body[Magic.Length..];
        var id = new Guid(span[..16]);
        span = span[16..];
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(span);
        span = span[4..];
        var ranges = new List<(long, byte[])>();
        for (uint i = 0; i < count; i++)
        {
            if (span.Length < 12)
            {
                throw Damaged(path, "it ends inside an entry");
            }
            long offset = BinaryPrimitives.ReadInt64LittleEndian(span);
            int length = BinaryPrimitives.ReadInt32LittleEndian(span[8..]);
            span = span[12..];
            if (offset < 0 || length < 0 || length > span.Length)
            {
                throw Damaged(path, "an entry lies outside it");
            }
            ranges.Add((offset, span[..length].ToArray()));
            span = span[length..];
        }
        return new PatchJournal(id, ranges);
    }

    public void Save(string path)
    {
        long size = Magic.Length + 16 + 4 + Ranges.Sum(r => 12L + r.Original.Length) + 4;
        var bytes = new byte[size];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        ImageId.TryWriteBytes(span.Slice(Magic.Length, 16));
        int at = Magic.Length + 16;
        BinaryPrimitives.WriteUInt32LittleEndian(span[at..], (uint)Ranges.Count);
        at += 4;
        foreach (var (offset, original) in Ranges)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span[at..], offset);
            BinaryPrimitives.WriteInt32LittleEndian(span[(at + 8)..], original.Length);
            original.CopyTo(span[(at + 12)..]);
            at += 12 + original.Length;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(span[at..], Crc32.HashToUInt32(span[..at]));
        AtomicFile.WriteAllBytes(path, bytes);
    }

    private static LinuxImageException Damaged(string path, string why) =>
        new(DiagnosticCatalog.PatchJournalDamaged, path, path, why);
}
