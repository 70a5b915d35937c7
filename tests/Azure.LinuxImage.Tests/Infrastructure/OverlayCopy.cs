using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>What the build does to its output, for file-system tests: an overlay's changes written into a copy of the image, which the real tools then judge.</summary>
public static class OverlayCopy
{
    public static string Write(DiskOverlay overlay, string image, TempDir temp)
    {
        string copy = temp[$"out-{Guid.NewGuid():N}.img"];
        File.Copy(image, copy);
        using var stream = new FileStream(copy, FileMode.Open, FileAccess.Write);
        foreach (var (offset, data) in overlay.GetChanges())
        {
            stream.Position = offset;
            stream.Write(data);
        }
        return copy;
    }
}
