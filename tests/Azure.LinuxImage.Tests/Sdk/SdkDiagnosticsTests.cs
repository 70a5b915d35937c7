using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Sdk;

/// <summary>Bad input through `dotnet build`: a clear LIMG error naming the file, and nothing in bin/.</summary>
[TestClass]
public sealed class SdkDiagnosticsTests
{
    private const long MiB = 1024 * 1024;

    private static (ImageProject Project, string Vhd) DynamicVhd()
    {
        var project = new ImageProject();
        string raw = DiskFixtures.Raw(project["src.raw"], 20 * MiB, 0, 5 * MiB);
        string vhd = DiskFixtures.QemuConvert(raw, project["src.vhd"], "vpc", "-o", "subformat=dynamic,force_size=on");
        project.WriteDataDisk("src.vhd");
        return (project, vhd);
    }

    private static void AssertFailsWith(ImageProject project, string code, string mention)
    {
        var build = project.Build();
        Assert.AreNotEqual(0, build.ExitCode, build.Output);
        StringAssert.Contains(build.Output, "error " + code, build.Output);
        StringAssert.Contains(build.Output, mention);
        Assert.IsFalse(build.Output.Contains("Unhandled exception", StringComparison.Ordinal), build.Output);
        Assert.IsFalse(File.Exists(project.ImagePath), "nothing written to bin/");
    }

    [TestMethod]
    public void TruncatedVhd()
    {
        var (project, vhd) = DynamicVhd();
        using (project)
        {
            using (var s = new FileStream(vhd, FileMode.Open))
            {
                s.SetLength(s.Length - 700);
            }
            AssertFailsWith(project, "LIMG0101", "src.vhd");
        }
    }

    [TestMethod]
    public void BadFooterChecksum()
    {
        var (project, vhd) = DynamicVhd();
        using (project)
        {
            using (var s = new FileStream(vhd, FileMode.Open))
            {
                s.Position = s.Length - 512 + 48 + 7; // the low byte of the current size
                int b = s.ReadByte();
                s.Position--;
                s.WriteByte((byte)(b ^ 0x02));
            }
            AssertFailsWith(project, "LIMG0103", "src.vhd");
        }
    }

    [TestMethod]
    public void BlockTableEntryPastTheEnd()
    {
        var (project, vhd) = DynamicVhd();
        using (project)
        {
            using (var s = new FileStream(vhd, FileMode.Open))
            {
                var header = new byte[1024];
                s.Position = 512;
                s.ReadExactly(header);
                long table = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(16));
                s.Position = table;
                s.Write([0x0F, 0xFF, 0xFF, 0x00]);
            }
            AssertFailsWith(project, "LIMG0102", "past the end");
        }
    }

    [TestMethod]
    public void DifferencingDiskWithMissingParent()
    {
        using var project = new ImageProject();
        string parentRaw = DiskFixtures.Raw(project["parent.raw"], 8 * MiB, 0);
        string parent = DiskFixtures.QemuConvert(parentRaw, project["parent.vhd"], "vpc", "-o", "subformat=dynamic,force_size=on");
        VhdBuilder.CreateDifferencing(project["child.vhd"], parent, [(2 * MiB, new byte[4096])]);
        File.Delete(parent);
        project.WriteDataDisk("child.vhd");
        AssertFailsWith(project, "LIMG0104", "parent.vhd");
    }

    [TestMethod]
    public void NotADisk()
    {
        using var project = new ImageProject();
        File.WriteAllText(project["notes.txt"], "this is not a disk image\n");
        project.WriteDataDisk("notes.txt");
        AssertFailsWith(project, "LIMG0100", "notes.txt");
    }

    [TestMethod]
    public void Warnings_ObeyNoWarnAndWarningsAsErrors()
    {
        using var project = new ImageProject();
        string raw = DiskFixtures.Raw(project["src.raw"], 20 * MiB + 512, 0);
        // Without force_size qemu writes creator "qemu": its size is CHS-rounded and ambiguous (LIMG0107).
        DiskFixtures.QemuConvert(raw, project["src.vhd"], "vpc", "-o", "subformat=fixed");
        project.WriteDataDisk("src.vhd");

        var warned = project.Build();
        Assert.AreEqual(0, warned.ExitCode, warned.Output);
        StringAssert.Contains(warned.Output, "warning LIMG0107");

        var suppressed = project.Build("-t:Rebuild", "-p:NoWarn=LIMG0107");
        Assert.AreEqual(0, suppressed.ExitCode, suppressed.Output);
        Assert.IsFalse(suppressed.Output.Contains("warning LIMG0107", StringComparison.Ordinal), suppressed.Output);

        var promoted = project.Build("-t:Rebuild", "-p:WarningsAsErrors=LIMG0107");
        Assert.AreNotEqual(0, promoted.ExitCode, promoted.Output);
        StringAssert.Contains(promoted.Output, "error LIMG0107");

        var all = project.Build("-t:Rebuild", "-p:TreatWarningsAsErrors=true");
        Assert.AreNotEqual(0, all.ExitCode, all.Output);
        StringAssert.Contains(all.Output, "error LIMG0107");
    }
}
