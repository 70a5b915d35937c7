using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Patching;

public sealed record ImagePatchResult(PatchApplyResult Applied, IReadOnlyList<string> Actions, IReadOnlyList<Diagnostic> Diagnostics);

/// <summary>
/// The patch step: computes the guest changes on the unpatched image in a copy-on-write overlay and
/// applies only the changed bytes to the output (see <see cref="PatchApplier"/>).
/// </summary>
public static class ImagePatcher
{
    public static ImagePatchResult Patch(string imagePath, string journalPath, ImagePatchOptions options)
    {
        var actions = new List<string>();
        var diagnostics = new List<Diagnostic>();
        var applied = PatchApplier.Apply(imagePath, journalPath, baseView =>
        {
            var overlay = new DiskOverlay(baseView);
            GuestPatchPipeline.Run(overlay, options, actions, diagnostics);
            return overlay.GetChanges();
        });
        return new ImagePatchResult(applied, actions, diagnostics);
    }
}
