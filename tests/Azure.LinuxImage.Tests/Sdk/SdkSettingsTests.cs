using System.Text.Json;
using Azure.LinuxImage.Cli.Settings;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Sdk;

/// <summary>Settings through `dotnet build`: refused values, misspelt names, extension points, the ways to reference the SDK, help links.</summary>
[TestClass]
public sealed class SdkSettingsTests
{
    private const long MiB = 1024 * 1024;

    [TestMethod]
    public void InvalidValues_AreLimgErrorsAtTheirLineInTheProject()
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], 3 * MiB, 8192);
        project.Write("""
              <PropertyGroup>
                <SourceDisk>disk.img</SourceDisk>
                <ImageKind>DataDisk</ImageKind>
                <ImageSizeMiB>abc</ImageSizeMiB>
              </PropertyGroup>
              <ItemGroup>
                <WaagentSetting Include="ResourceDisk.SwapSizeMB" />
                <WaagentSetting Include="ResourceDisk.Format=n" />
              </ItemGroup>
            """);

        var build = project.Build();

        Assert.AreNotEqual(0, build.ExitCode, build.Output);
        // Line numbers of the project written above: <Project> is line 1.
        StringAssert.Contains(build.Output, $"{project.ProjectPath}(5,6): error LIMG0030");
        StringAssert.Contains(build.Output, "error LIMG0030: The ImageSizeMiB value 'abc' is not valid");
        StringAssert.Contains(build.Output, $"{project.ProjectPath}(8,6): error LIMG0031");
        StringAssert.Contains(build.Output, "error LIMG0031: The WaagentSetting item 'ResourceDisk.SwapSizeMB' has no Value");
        StringAssert.Contains(build.Output, $"{project.ProjectPath}(9,6): error LIMG0032");
        StringAssert.Contains(build.Output, "error LIMG0032: The WaagentSetting item 'ResourceDisk.Format=n'");
        Assert.DoesNotContain("MSB6006", build.Output, "no bare 'exited with code 1'");
        Assert.DoesNotContain("Usage:", build.Output, "no help text");
        Assert.IsFalse(File.Exists(project.ImagePath));
    }

    [TestMethod]
    public void NearMissNames_Warn_OnEveryBuild()
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], 3 * MiB, 8192);
        project.Write("""
              <PropertyGroup>
                <SourceDisk>disk.img</SourceDisk>
                <ImageKind>DataDisk</ImageKind>
                <Deprovison>false</Deprovison>
                <MyOwnProperty>x</MyOwnProperty>
              </PropertyGroup>
              <ItemGroup>
                <KernelParamter Include="net.ifnames=0" />
                <WaagentSettings Include="ResourceDisk.SwapSizeMB" Value="4096" />
              </ItemGroup>
            """);

        foreach (var build in new[] { project.Build(), project.Build() })
        {
            Assert.AreEqual(0, build.ExitCode, build.Output);
            StringAssert.Contains(build.Output, $"{project.ProjectPath}(5,6): warning LIMG0033: The property 'Deprovison' is not a setting of Azure.LinuxImage.Sdk and has no effect. Did you mean 'Deprovision'?");
            StringAssert.Contains(build.Output, $"{project.ProjectPath}(9,6): warning LIMG0033: The item 'KernelParamter'");
            StringAssert.Contains(build.Output, "Did you mean 'KernelParameter'?");
            StringAssert.Contains(build.Output, "The item 'WaagentSettings' is not a setting");
            Assert.DoesNotContain("MyOwnProperty'", build.Output);
        }
    }

    /// <summary>The terminal logger renders a diagnostic's HelpLink as a hyperlink on its code: the link is absolute and configurable.</summary>
    [TestMethod]
    public void ErrorsAndWarnings_CarryAnAbsoluteHelpLink_FromOneBaseAddress()
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], 3 * MiB, 8192);
        project.WriteDataDisk("disk.img", """
              <PropertyGroup>
                <Deprovison>false</Deprovison>
                <ImageSizeMiB>0</ImageSizeMiB>
                <LinuxImageHelpBaseUri>https://docs.example/limg/</LinuxImageHelpBaseUri>
              </PropertyGroup>
            """);

        var build = DotNet.Run(project.Directory, new Dictionary<string, string> { ["TERM"] = "xterm", ["MSBUILDTERMINALLOGGER"] = "on" }, null, null,
            ["build", project.ProjectPath, "-nr:false", "-tl:on"]);

        Assert.AreNotEqual(0, build.ExitCode, build.Output);
        StringAssert.Contains(build.Output, "https://docs.example/limg/diagnostics/LIMG0033.md", "the near-miss warning (in-process task)");
        StringAssert.Contains(build.Output, "https://docs.example/limg/diagnostics/LIMG0030.md", "the tool's error");
    }

    [TestMethod]
    [DataRow("attribute")]
    [DataRow("global.json")]
    [DataRow("element")]
    public void TheSdkResolves_AsAttributeGlobalJsonOrElement(string form)
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], MiB, 4096);
        string body = """
              <PropertyGroup>
                <SourceDisk>disk.img</SourceDisk>
                <ImageKind>DataDisk</ImageKind>
              </PropertyGroup>
            """;
        string xml = form switch
        {
            "attribute" => $"<Project Sdk=\"Azure.LinuxImage.Sdk/{SdkPackage.Version}\">\n{body}\n</Project>",
            "global.json" => $"<Project Sdk=\"Azure.LinuxImage.Sdk\">\n{body}\n</Project>",
            _ => $"<Project>\n  <Sdk Name=\"Azure.LinuxImage.Sdk\" Version=\"{SdkPackage.Version}\" />\n{body}\n</Project>",
        };
        if (form != "global.json")
        {
            File.Delete(project["global.json"]);
        }
        File.WriteAllText(project.ProjectPath, xml);

        var build = project.Build();

        Assert.AreEqual(0, build.ExitCode, build.Output);
        DiskFixtures.AssertFixedVhd(project.ImagePath, MiB);
    }

    /// <summary>The package carries the files the tool writes from its catalog, not a copy kept by hand.</summary>
    [TestMethod]
    public void PackedSettingsFiles_AreTheCatalogs()
    {
        string sdk = Path.Combine(SdkPackage.PackagesFolder, "azure.linuximage.sdk", SdkPackage.Version, "Sdk");
        using var project = new ImageProject();
        Assert.AreEqual(0, project.Run("restore", WriteMinimal(project)).ExitCode);
        Assert.AreEqual(SdkFiles.Props(), File.ReadAllText(Path.Combine(sdk, "LinuxImage.Settings.props")));
        Assert.AreEqual(SdkFiles.Targets(), File.ReadAllText(Path.Combine(sdk, "LinuxImage.Settings.targets")));
    }

    /// <summary>
    /// The same built image validated by the SDK and by `linuximage validate` with no options gives
    /// the same findings: the tool alone applies exactly the SDK's defaults. Its SARIF passes the
    /// SARIF multitool with no error or warning.
    /// </summary>
    [TestMethod]
    public void CliAlone_ValidatesWithTheSdkDefaults_AndItsSarifIsValid()
    {
        using var project = new ImageProject();
        SmallGuestDisk.Create(project["disk.img"]);
        project.Write("<PropertyGroup><SourceDisk>disk.img</SourceDisk></PropertyGroup>");
        var build = project.Build();
        Assert.AreEqual(0, build.ExitCode, build.Output);

        string report = project["cli.json"];
        string sarif = project["cli.sarif"];
        var cli = project.Run(SdkPackage.ToolAssembly, "validate", project.ImagePath, "--report", report, "--sarif", sarif);
        Assert.AreEqual(0, cli.ExitCode, cli.Output);

        var sdkFindings = Findings(project.ReportPath);
        CollectionAssert.AreEqual(sdkFindings, Findings(report), "\nSDK:\n" + string.Join('\n', sdkFindings) + "\nCLI:\n" + string.Join('\n', Findings(report)));
        Assert.IsTrue(sdkFindings.Any(f => f.StartsWith("R11.", StringComparison.Ordinal) || f.Contains("|R11|", StringComparison.Ordinal)), "the waagent rules ran");

        using var json = JsonDocument.Parse(File.ReadAllText(project.ReportPath));
        StringAssert.EndsWith(json.RootElement.GetProperty("$schema").GetString(), "/validation-report.schema.json");
        StringAssert.StartsWith(json.RootElement.GetProperty("tool").GetProperty("version").GetString(), SdkPackage.Version.Split('-')[0]);

        AssertSarifValid(project, Path.ChangeExtension(project.ReportPath, null) + ".sarif");
        AssertSarifValid(project, sarif);
    }

    /// <summary>A project target in ValidateImageDependsOn runs after PatchImage and writes into the guest; validation sees the file.</summary>
    [TestMethod]
    public void UserTarget_BetweenPatchAndValidate_WritesIntoTheGuest()
    {
        using var project = new ImageProject();
        SmallGuestDisk.Create(project["disk.img"]);
        File.WriteAllText(project["hv.conf"], "blacklist hv_netvsc\n");
        File.WriteAllText(project["inject.debugfs"], $"mkdir /etc/modprobe.d\nwrite {project["hv.conf"]} /etc/modprobe.d/limg-test.conf\n");
        project.Write("""
              <PropertyGroup>
                <SourceDisk>disk.img</SourceDisk>
                <ValidateImageDependsOn>$(ValidateImageDependsOn);InjectIntoGuest</ValidateImageDependsOn>
              </PropertyGroup>
              <Target Name="InjectIntoGuest">
                <Message Importance="high" Text="InjectIntoGuest: after patch" Condition="Exists('$(LinuxImageIntermediateDir)patch.done')" />
                <Exec Command="debugfs -w -f inject.debugfs &quot;$(LinuxImageWorkImage)?offset=1048576&quot;" />
              </Target>
            """);

        var build = project.Build();

        StringAssert.Contains(build.Output, "InjectIntoGuest: after patch");
        Assert.AreNotEqual(0, build.ExitCode, build.Output);
        StringAssert.Contains(build.Output, "error LIMG0500");
        StringAssert.Contains(build.Output, "/etc/modprobe.d/limg-test.conf");
        // A failed validation leaves no image in OutDir; the one the steps worked on stays in obj/.
        Assert.IsFalse(File.Exists(project.ImagePath));
        var fsck = ExternalTool.Run("e2fsck", ["-fn", SmallGuestDisk.Device(project.WorkImagePath)]);
        Assert.AreEqual(0, fsck.ExitCode, fsck.All);
    }

    private static string WriteMinimal(ImageProject project)
    {
        DiskFixtures.Raw(project["disk.img"], MiB, 4096);
        project.WriteDataDisk("disk.img");
        return project.ProjectPath;
    }

    private static List<string> Findings(string report)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        return json.RootElement.GetProperty("rules").EnumerateArray().Select(r => string.Join('|',
            r.GetProperty("rule").GetString(), r.GetProperty("code").GetString(), r.GetProperty("requirement").GetString(), r.GetProperty("result").GetString(),
            r.TryGetProperty("severity", out var s) ? s.GetString() : "-", r.GetProperty("message").GetString(),
            // The SDK validates the image in the intermediate folder before it moves it to OutDir: the same file.
            r.TryGetProperty("file", out var f) ? Path.GetFileName(f.GetString()) : "-")).ToList();
    }

    private static void AssertSarifValid(ImageProject project, string sarif)
    {
        string output = project[Path.GetFileName(sarif) + ".validation.sarif"];
        var run = ExternalTool.Run(ExternalTool.Find("sarif-multitool"), ["validate", sarif, "--output", output, "--log", "ForceOverwrite", "--level", "Error", "Warning"]);
        Assert.IsTrue(File.Exists(output), run.All);
        using var json = JsonDocument.Parse(File.ReadAllText(output));
        var problems = json.RootElement.GetProperty("runs")[0].GetProperty("results").EnumerateArray()
            .Where(r => r.TryGetProperty("level", out var l) ? l.GetString() is "error" or "warning" : true)
            .Select(r => r.GetProperty("ruleId").GetString() + ": " + r.GetProperty("message").ToString())
            .ToList();
        Assert.AreEqual(0, problems.Count, sarif + ":\n" + string.Join('\n', problems));
    }
}
