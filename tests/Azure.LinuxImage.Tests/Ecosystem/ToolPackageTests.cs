using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Ecosystem;

/// <summary>
/// The `linuximage` dotnet tool as a user gets it: `dotnet tool install` from the packed file into a
/// private tool path (and a private packages folder), then the `linuximage` command itself.
/// </summary>
[TestClass]
public sealed class ToolPackageTests
{
    private const long MiB = 1024 * 1024;

    [TestMethod]
    public void ToolInstall_FromPackedFile_RunsLinuximageWithTheSdksVersion()
    {
        using var work = new ImageProject();
        string toolPath = work["tools"];
        _ = SdkPackage.ToolPackageFile;

        var installed = DotNet.Run(work.Directory, "tool", "install", "Azure.LinuxImage.Tool", "--version", SdkPackage.Version,
            "--tool-path", toolPath, "--configfile", work["NuGet.config"]);

        Assert.AreEqual(0, installed.ExitCode, installed.Output);
        string command = Path.Combine(toolPath, "linuximage");
        Assert.IsTrue(File.Exists(command), "the command shim is named linuximage:\n" + installed.Output);

        var version = ExternalTool.Run(command, ["--version"]);
        Assert.AreEqual(0, version.ExitCode, version.All);
        Assert.IsTrue(version.StdOut.Trim().StartsWith(SdkPackage.Version, StringComparison.Ordinal), $"tool version '{version.StdOut.Trim()}', SDK version '{SdkPackage.Version}'");

        string raw = DiskFixtures.Raw(work["disk.img"], 8 * MiB + 512, 1 * MiB);
        var converted = ExternalTool.Run(command, ["convert", raw, work["disk.vhd"]]);
        Assert.AreEqual(0, converted.ExitCode, converted.All);
        DiskFixtures.AssertFixedVhd(work["disk.vhd"], 9 * MiB);
        DiskFixtures.AssertSameData(raw, "raw", work["disk.vhd"]);

        var info = ExternalTool.Run(command, ["info", work["disk.vhd"], "--json"]);
        Assert.AreEqual(0, info.ExitCode, info.All);
        StringAssert.Contains(info.StdOut, "\"format\"");
    }
}
