using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Patching;

/// <summary>Finds the guest's file systems on the disk and runs the configuration steps on them.</summary>
internal static class GuestPatchPipeline
{
    public static void Run(DiskOverlay disk, ImagePatchOptions options, List<string> actions, List<Diagnostic> diagnostics)
    {
        // Wired to the partition / ext4 layer and the guest configuration steps once they land.
        _ = disk;
        _ = options;
        _ = actions;
        _ = diagnostics;
    }
}
