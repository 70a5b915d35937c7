using Azure.LinuxImage.Engine.Conversion;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Validation;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Validation;

/// <summary>The disk-level rules, on VHDs made by qemu-img (what Azure would be given without the SDK).</summary>
[TestClass]
public sealed class DiskRulesTests
{
    private const long MiB = 1024 * 1024;

    private static string[] FailedCodes(string image) =>
        DiskRules.Check(image).Where(o => !o.Passed).Select(o => o.Code).ToArray();

    [TestMethod]
    public void OurImage_PassesEveryRule()
    {
        using var dir = new TempDir();
        string raw = DiskFixtures.Raw(dir["r.raw"], 30 * MiB + 3, 4096);
        FixedVhdConverter.Convert(new ConvertOptions(raw, dir["o.vhd"]));
        var outcomes = DiskRules.Check(dir["o.vhd"]);
        Assert.AreEqual(6, outcomes.Count);
        Assert.IsTrue(outcomes.All(o => o.Passed), string.Join("\n", outcomes.Select(o => o.Message)));
    }

    [TestMethod]
    public void DynamicVhd_IsNotFixed()
    {
        using var dir = new TempDir();
        ExternalTool.RunChecked("qemu-img", "create", "-f", "vpc", "-o", "subformat=dynamic,force_size=on", dir["d.vhd"], "64M");
        CollectionAssert.Contains(FailedCodes(dir["d.vhd"]), "LIMG0170");
    }

    [TestMethod]
    public void QemuFixedVhdWithChsRoundedSize_IsNotAWholeMiB()
    {
        using var dir = new TempDir();
        // As in the article: qemu-img without force_size sizes a "20G" disk by its CHS geometry.
        ExternalTool.RunChecked("qemu-img", "create", "-f", "vpc", "-o", "subformat=fixed", dir["f.vhd"], "20G");
        long size = new FileInfo(dir["f.vhd"]).Length - 512;
        Assert.AreNotEqual(0, size % MiB, "qemu without force_size rounds to CHS geometry");
        CollectionAssert.AreEqual(new[] { "LIMG0171" }, FailedCodes(dir["f.vhd"]));
    }

    [TestMethod]
    public void DamagedFooter_FailsChecksumRule()
    {
        using var dir = new TempDir();
        string raw = DiskFixtures.Raw(dir["r.raw"], 4 * MiB, 4096);
        FixedVhdConverter.Convert(new ConvertOptions(raw, dir["o.vhd"]));
        using (var s = new FileStream(dir["o.vhd"], FileMode.Open))
        {
            s.Position = s.Length - 512 + 24; // the time stamp: no other rule looks at it
            s.WriteByte(0x7F);
        }
        CollectionAssert.AreEqual(new[] { "LIMG0172" }, FailedCodes(dir["o.vhd"]));
    }

    [TestMethod]
    public void DataDiskReport_ListsEveryDiskRule_WithSeverityAfterWarningOptions()
    {
        using var dir = new TempDir();
        ExternalTool.RunChecked("qemu-img", "create", "-f", "vpc", "-o", "subformat=fixed", dir["f.vhd"], "100M");
        var result = ImageValidator.Validate(dir["f.vhd"], ImageKind.DataDisk, new Engine.Validation.Guest.GuestValidationOptions(),
            new DiagnosticOptions(), dir["r.json"], dir["r.sarif"]);
        Assert.IsTrue(result.HasErrors);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir["r.json"]));
        var rules = doc.RootElement.GetProperty("rules").EnumerateArray().ToList();
        Assert.AreEqual(6, rules.Count);
        var wholeMiB = rules.Single(r => r.GetProperty("code").GetString() == "LIMG0171");
        Assert.AreEqual("R2", wholeMiB.GetProperty("requirement").GetString());
        Assert.AreEqual("error", wholeMiB.GetProperty("severity").GetString());
        using var sarif = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir["r.sarif"]));
        Assert.AreEqual("2.1.0", sarif.RootElement.GetProperty("version").GetString());
    }
}
