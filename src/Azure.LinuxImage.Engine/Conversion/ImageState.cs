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

    public static ImageState? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), ImageStateJson.Default.ImageState);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Written to a temporary file, flushed and renamed: the state is either the old one or the new one.</summary>
    public void Save(string path)
    {
        AtomicFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(this, ImageStateJson.Default.ImageState));
    }
}

/// <summary>Generated at build time: every step reads or writes the state, and the reflection-based serializer first spends about 20 ms compiling.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ImageState))]
internal sealed partial class ImageStateJson : JsonSerializerContext;
