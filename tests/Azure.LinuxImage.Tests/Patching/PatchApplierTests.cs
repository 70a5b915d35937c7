using Azure.LinuxImage.Engine.Conversion;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Engine.Patching;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Patching;

/// <summary>The in-place patch protocol: only changed bytes are written, and the unpatched image is always recoverable.</summary>
[TestClass]
public sealed class PatchApplierTests
{
    private const long MiB = 1024 * 1024;

    private static (TempDir Dir, string Image, string Journal, byte[] Base) NewImage()
    {
        var dir = new TempDir();
        string raw = DiskFixtures.Raw(dir["b.raw"], 8 * MiB, 4096, 2 * MiB, 6 * MiB);
        FixedVhdConverter.Convert(new ConvertOptions(raw, dir["i.vhd"]));
        var data = File.ReadAllBytes(raw);
        return (dir, dir["i.vhd"], dir["i.journal"], data);
    }

    private static byte[] ImageData(string image)
    {
        var all = File.ReadAllBytes(image);
        return all[..^512];
    }

    private static Func<IReadableVolume, IReadOnlyList<(long, byte[])>> Writes(params (long Offset, string Text)[] writes) =>
        baseView =>
        {
            var overlay = new DiskOverlay(baseView);
            foreach (var (offset, text) in writes)
            {
                overlay.WriteAt(offset, System.Text.Encoding.ASCII.GetBytes(text));
            }
            return overlay.GetChanges();
        };

    [TestMethod]
    public void SecondPatch_IsAppliedOverTheUnpatchedImage_NotTheFirstPatch()
    {
        var (dir, image, journal, original) = NewImage();
        using (dir)
        {
            PatchApplier.Apply(image, journal, Writes((100, "first patch"), (3 * MiB, "AAAA")));
            var result = PatchApplier.Apply(image, journal, Writes((3 * MiB, "BBBB")));

            var expected = (byte[])original.Clone();
            System.Text.Encoding.ASCII.GetBytes("BBBB").CopyTo(expected, 3 * MiB);
            CollectionAssert.AreEqual(expected, ImageData(image));
            Assert.AreEqual(512, result.BytesRestored, "the first patch's other sector was put back");
            Assert.AreEqual(512, result.BytesWritten, "only the changed sector was written");
            DiskFixtures.AssertFixedVhd(image, 8 * MiB);
        }
    }

    [TestMethod]
    public void SamePatchTwice_WritesNothing()
    {
        var (dir, image, journal, _) = NewImage();
        using (dir)
        {
            PatchApplier.Apply(image, journal, Writes((5000, "x")));
            var again = PatchApplier.Apply(image, journal, Writes((5000, "x")));
            Assert.AreEqual(0, again.BytesWritten);
        }
    }

    [TestMethod]
    public void EmptyPatch_RestoresTheOriginalImage()
    {
        var (dir, image, journal, original) = NewImage();
        using (dir)
        {
            PatchApplier.Apply(image, journal, Writes((5000, "x"), (7 * MiB, "y")));
            PatchApplier.Apply(image, journal, Writes());
            CollectionAssert.AreEqual(original, ImageData(image));
        }
    }

    [TestMethod]
    public void PatchInterruptedAfterJournal_IsRepairedByTheNextPatch()
    {
        var (dir, image, journal, original) = NewImage();
        using (dir)
        {
            PatchApplier.Apply(image, journal, Writes((5000, "old")));
            // Simulate a crash: the pending journal was saved, then the process died after writing part of the new patch.
            Assert.ThrowsExactly<InvalidOperationException>(() => PatchApplier.Apply(image, journal, baseView =>
            {
                var changes = Writes((9000, "new"))(baseView);
                throw new InvalidOperationException("crash before writing");
            }));
            using (var v = FileVolume.OpenReadWrite(image, 8 * MiB))
            {
                v.WriteAt(9000, "ne"u8);
            }
            PatchApplier.Apply(image, journal, Writes((9000, "new")));
            var expected = (byte[])original.Clone();
            "new"u8.ToArray().CopyTo(expected, 9000);
            CollectionAssert.AreEqual(expected, ImageData(image));
        }
    }

    [TestMethod]
    public void JournalOfAnotherImage_IsRefused()
    {
        var (dir, image, journal, _) = NewImage();
        using (dir)
        {
            PatchApplier.Apply(image, journal, Writes((5000, "x")));
            FixedVhdConverter.Convert(new ConvertOptions(dir["b.raw"], image));
            var e = Assert.ThrowsExactly<LinuxImageException>(() => PatchApplier.Apply(image, journal, Writes()));
            Assert.AreEqual("LIMG0009", e.Descriptor.Code);
        }
    }

    [TestMethod]
    public void DamagedJournal_IsRefused()
    {
        var (dir, image, journal, _) = NewImage();
        using (dir)
        {
            PatchApplier.Apply(image, journal, Writes((5000, "x")));
            var bytes = File.ReadAllBytes(journal);
            bytes[30] ^= 0xFF;
            File.WriteAllBytes(journal, bytes);
            var e = Assert.ThrowsExactly<LinuxImageException>(() => PatchApplier.Apply(image, journal, Writes()));
            Assert.AreEqual("LIMG0009", e.Descriptor.Code);
        }
    }
}
