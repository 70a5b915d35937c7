using System.Security.Cryptography;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Publishing;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Publishing;

[TestClass]
public sealed class UploadPlanTests
{
    [TestMethod]
    public void Plan_covers_exactly_the_non_zero_pages_in_writes_of_at_most_4_MiB()
    {
        using var dir = new TempDir("plan");
        string vhd = dir["image.vhd"];
        SparseVhd.Create(vhd, 40, SparseVhd.ScatteredWrites());

        var plan = UploadPlan.Create(vhd);

        var expected = SparseVhd.NonZeroRuns(vhd).Select(r => new PageRange(r.Offset, r.Length)).ToList();
        CollectionAssert.AreEqual(expected, UploadPlan.Merge(plan.Ranges));
        Assert.IsTrue(plan.Ranges.All(r => r.Length is > 0 and <= UploadPlan.MaxWriteSize && r.Offset % 512 == 0 && r.Length % 512 == 0));
        Assert.IsTrue(plan.Ranges.Zip(plan.Ranges.Skip(1)).All(p => p.First.End <= p.Second.Offset), "ranges are sorted and disjoint");
        Assert.IsTrue(plan.Ranges.Count(r => r.Length == UploadPlan.MaxWriteSize) >= 2, "the 9 MiB run is split into 4 MiB writes");
        Assert.AreEqual(expected.Sum(r => r.Length), plan.DataBytes);
        Assert.AreEqual(new FileInfo(vhd).Length, plan.Length);
#pragma warning disable CA5351 // Content-MD5 is the service's integrity field, not a security measure.
        CollectionAssert.AreEqual(MD5.HashData(File.ReadAllBytes(vhd)), plan.ContentMd5);
#pragma warning restore CA5351
    }

    [TestMethod]
    public void Plan_skips_zero_pages_inside_written_regions()
    {
        using var dir = new TempDir("plan-zero");
        string vhd = dir["image.vhd"];
        // 2 MiB actually written (no hole), of which only two pages are non-zero.
        byte[] mostlyZero = new byte[2 * SparseVhd.MiB];
        mostlyZero[5] = 1;
        mostlyZero[SparseVhd.MiB + 700] = 2;
        SparseVhd.Create(vhd, 4, [(0, mostlyZero)]);

        var plan = UploadPlan.Create(vhd);

        CollectionAssert.AreEqual(
            new[] { new PageRange(0, 512), new PageRange(SparseVhd.MiB + 512, 512), new PageRange(4 * SparseVhd.MiB, 512) },
            plan.Ranges.ToArray());
    }

    [TestMethod]
    public void Missing_lists_the_planned_ranges_the_service_does_not_fully_hold()
    {
        using var dir = new TempDir("plan-missing");
        string vhd = dir["image.vhd"];
        SparseVhd.Create(vhd, 40, SparseVhd.ScatteredWrites());
        var plan = UploadPlan.Create(vhd);

        var present = UploadPlan.Merge([plan.Ranges[0], plan.Ranges[2], new PageRange(plan.Ranges[3].Offset, 512)]);
        var missing = plan.Missing(present);

        CollectionAssert.AreEqual(plan.Ranges.Where((_, i) => i is not 0 and not 2).ToArray(), missing.ToArray());
        Assert.AreEqual(0, plan.Missing(UploadPlan.Merge(plan.Ranges)).Count);
    }

    [TestMethod]
    public void A_file_that_is_not_a_fixed_VHD_is_refused_with_LIMG0609()
    {
        using var dir = new TempDir("plan-bad");
        string raw = dir["disk.raw"];
        File.WriteAllBytes(raw, new byte[SparseVhd.MiB + 512]);

        var e = Assert.ThrowsExactly<LinuxImageException>(() => UploadPlan.Create(raw));

        Assert.AreEqual("LIMG0609", e.Descriptor.Code);
        StringAssert.Contains(e.Message, "does not end with a VHD footer");
    }

    [TestMethod]
    public void A_VHD_whose_size_is_not_whole_MiB_is_refused()
    {
        using var dir = new TempDir("plan-size");
        string vhd = dir["odd.vhd"];
        long dataSize = SparseVhd.MiB + 4096;
        using (var stream = File.Create(vhd))
        {
            stream.SetLength(dataSize);
            stream.Position = dataSize;
            stream.Write(Azure.LinuxImage.Engine.Disks.Vhd.VhdFooter.CreateFixed(dataSize, Guid.NewGuid(), DateTime.UtcNow).ToBytes());
        }

        var e = Assert.ThrowsExactly<LinuxImageException>(() => UploadPlan.Create(vhd));

        Assert.AreEqual("LIMG0609", e.Descriptor.Code);
    }

    [TestMethod]
    public void Verification_sample_always_includes_the_first_and_the_last_range()
    {
        var ranges = Enumerable.Range(0, 100).Select(i => new PageRange(i * 1024L, 512)).ToList();

        var sample = PageBlobPublisher.SampleForVerification(ranges, VerifyMode.Sample, 8);

        Assert.HasCount(8, sample);
        Assert.AreEqual(ranges[0], sample[0]);
        Assert.AreEqual(ranges[^1], sample[^1]);
        Assert.HasCount(100, PageBlobPublisher.SampleForVerification(ranges, VerifyMode.Full, 8));
        Assert.IsEmpty(PageBlobPublisher.SampleForVerification(ranges, VerifyMode.PageRanges, 8));
    }
}
