using System.Text.Json;
using System.Text.Json.Serialization;

namespace Azure.LinuxImage.Engine.Conversion;

/// <summary>
/// What the build knows about the image it produced, kept beside the intermediate files: the
/// source's true size (for re-aligning without re-reading it), the VHD's identity (so a patch journal
/// is never applied to another image) and an in-progress resize, so that an interrupted align is
/// finished by the next build rather than leaving a stray footer inside the disk.
/// </summary>
public sealed record ImageState
{
    public long SourceSize { get; init; }

    public long VirtualSize { get; init; }

    public Guid UniqueId { get; init; }

    public long? PendingVirtualSize { get; init; }

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static ImageState? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<ImageState>(File.ReadAllText(path), Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Written to a temporary file, flushed and renamed: the state is either the old one or the new one.</summary>
    public void Save(string path)
    {
        AtomicFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(this, Options));
    }
}
