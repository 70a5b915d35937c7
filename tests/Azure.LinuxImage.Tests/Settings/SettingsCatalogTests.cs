using System.Xml.Linq;
using Azure.LinuxImage.Cli.Settings;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest.Fstab;
using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Engine.Settings;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Settings;

/// <summary>The settings catalog against everything made from it, and the value checks, without building.</summary>
[TestClass]
public sealed class SettingsCatalogTests
{
    [TestMethod]
    public void ReadmeTable_IsTheCatalogs()
    {
        string readme = File.ReadAllText(RepositoryPaths.Combine("README.md"));
        int begin = readme.IndexOf(SdkFiles.TableBegin, StringComparison.Ordinal);
        int end = readme.IndexOf(SdkFiles.TableEnd, StringComparison.Ordinal);
        Assert.IsTrue(begin >= 0 && end > begin, "the README has the generated settings table");
        string table = readme[(begin + SdkFiles.TableBegin.Length)..end].Trim('\n');
        Assert.AreEqual(SdkFiles.Markdown().Trim('\n'), table, "README table out of date: paste `dotnet linuximage.dll settings` between the markers");
    }

    /// <summary>The MSBuild defaults (generated props) and the engine's/CLI's defaults are the same values.</summary>
    [TestMethod]
    public void GeneratedProps_HoldExactlyTheDefaultsTheEngineApplies()
    {
        var props = XDocument.Parse(SdkFiles.Props()).Root!;
        var defaults = ImageSettings.Defaults;
        foreach (var setting in SettingCatalog.All)
        {
            var elements = props.Descendants(setting.Name).ToList();
            switch (setting.Shape)
            {
                case SettingShape.Property:
                    Assert.AreEqual(defaults.Text(setting), elements.SingleOrDefault()?.Value, setting.Name);
                    break;
                case SettingShape.Item:
                    CollectionAssert.AreEqual(defaults.Items(setting).ToList(), elements.Select(e => (string)e.Attribute("Include")!).ToList(), setting.Name);
                    break;
                default:
                    CollectionAssert.AreEqual(defaults.Pairs(setting).Select(p => p.Key + "=" + p.Value).ToList(),
                        elements.Select(e => (string)e.Attribute("Include")! + "=" + (string)e.Attribute("Value")!).ToList(), setting.Name);
                    break;
            }
        }
    }

    [TestMethod]
    public void GuestPatchOptionsDefaults_AreTheCatalogs_CrashkernelByName()
    {
        var options = new GuestPatchOptions();
        CollectionAssert.AreEqual(new[] { "rhgb", "quiet", "crashkernel" }, options.RemoveKernelParameters.ToArray());
        CollectionAssert.AreEqual(SettingCatalog.KernelParameter.Default.ToArray(), options.KernelParameters.ToArray());
        Assert.IsTrue(options.Deprovision);
        Assert.AreEqual(SettingCatalog.WaagentSetting.Default.Count, options.WaagentSettings.Count);
        var fromEmptyProject = GuestPatchOptions.From(new ImageSettings());
        Assert.AreEqual(options with { Settings = fromEmptyProject.Settings }, fromEmptyProject with
        {
            KernelParameters = options.KernelParameters,
            RemoveKernelParameters = options.RemoveKernelParameters,
            WaagentSettings = options.WaagentSettings,
        });
        CollectionAssert.AreEqual(options.KernelParameters.ToArray(), fromEmptyProject.KernelParameters.ToArray());
        CollectionAssert.AreEqual(options.WaagentSettings.ToArray(), fromEmptyProject.WaagentSettings.ToArray());
    }

    [TestMethod]
    public void EverySetting_IsWellFormed()
    {
        Assert.AreEqual(SettingCatalog.All.Count, SettingCatalog.All.Select(s => s.Name.ToUpperInvariant()).Distinct().Count(), "names unique");
        var options = SettingCatalog.All.Where(s => s.Option is not null).Select(s => s.Option!).ToList();
        Assert.AreEqual(options.Count, options.Distinct().Count(), "options unique");
        foreach (var s in SettingCatalog.All)
        {
            Assert.IsFalse(string.IsNullOrWhiteSpace(s.Documentation), s.Name);
            Assert.IsTrue(s.Option is null || s.Option.StartsWith("--", StringComparison.Ordinal), s.Name);
            foreach (string d in s.Default)
            {
                var check = new ImageSettings();
                if (s.Shape == SettingShape.KeyValueItem)
                {
                    check.AddPair(s, d);
                }
                else
                {
                    check.Add(s, d);
                }
                Assert.AreEqual(0, check.Problems.Count, $"{s.Name}: its default '{d}' is refused");
            }
        }
    }

    [TestMethod]
    public void InvalidValues_AreLimgErrorsNamingTheSetting()
    {
        var settings = new ImageSettings()
            .Add(SettingCatalog.ImageSizeMiB, "abc")
            .Add(SettingCatalog.Deprovision, "maybe")
            .Add(SettingCatalog.ImageKind, "Floppy")
            .Add(SettingCatalog.WaagentSetting, string.Empty, "ResourceDisk.SwapSizeMB")
            .Add(SettingCatalog.WaagentSetting, string.Empty, "ResourceDisk.Format=y")
            .AddPair(SettingCatalog.WaagentSetting, "novalue")
            .Add(SettingCatalog.KernelParameter, "a b");
        var codes = settings.Problems.Select(p => (p.Setting.Name, p.Diagnostic.Code)).ToList();
        CollectionAssert.AreEqual(new[]
        {
            ("ImageSizeMiB", "LIMG0030"), ("Deprovision", "LIMG0030"), ("ImageKind", "LIMG0030"),
            ("WaagentSetting", "LIMG0031"), ("WaagentSetting", "LIMG0032"), ("WaagentSetting", "LIMG0030"), ("KernelParameter", "LIMG0030"),
        }, codes);
        StringAssert.Contains(settings.Problems[0].Diagnostic.Message, "ImageSizeMiB");
        StringAssert.Contains(settings.Problems[4].Diagnostic.Message, "<WaagentSetting Include=\"ResourceDisk.Format\" Value=\"y\" />");
        Assert.ThrowsExactly<LinuxImageException>(() => settings.ThrowIfInvalid());
    }

    [TestMethod]
    public void SettingsFile_ItemsAreComplete_PropertiesDefault_LaterKeyWins()
    {
        using var temp = new TempDir("settings");
        File.WriteAllLines(temp["patch.config"], ["KernelParameter=console=ttyS0", "WaagentSetting[A]=1", "WaagentSetting[B]=2", "WaagentSetting[A]=3", "Deprovision=", "ImageKind=datadisk"]);
        var settings = new ImageSettings().AddFile(temp["patch.config"]);
        CollectionAssert.AreEqual(new[] { "console=ttyS0" }, settings.Items(SettingCatalog.KernelParameter).ToArray());
        Assert.AreEqual(0, settings.Items(SettingCatalog.RemoveKernelParameter).Count, "the SDK removed them all: none added back");
        CollectionAssert.AreEqual(new[] { new KeyValuePair<string, string>("A", "3"), new("B", "2") }, settings.Pairs(SettingCatalog.WaagentSetting).ToArray());
        Assert.IsTrue(settings.Boolean(SettingCatalog.Deprovision), "an empty property takes the default");
        Assert.AreEqual("DataDisk", settings.Text(SettingCatalog.ImageKind));
    }

    [TestMethod]
    public void ProblemsAreLocatedAtTheirLineInTheProject()
    {
        using var temp = new TempDir("locate");
        string project = temp["A.imgproj"];
        File.WriteAllText(project, """
            <Project Sdk="Azure.LinuxImage.Sdk">
              <PropertyGroup>
                <ImageSizeMiB>abc</ImageSizeMiB>
              </PropertyGroup>
              <ItemGroup>
                <WaagentSetting Include="ResourceDisk.Format" Value="y" />
                <WaagentSetting Include="ResourceDisk.SwapSizeMB" />
              </ItemGroup>
            </Project>
            """);
        var settings = new ImageSettings().Add(SettingCatalog.ImageSizeMiB, "abc").Add(SettingCatalog.WaagentSetting, string.Empty, "ResourceDisk.SwapSizeMB");
        var size = ProjectFileLocator.Locate(settings.Problems[0], project);
        var item = ProjectFileLocator.Locate(settings.Problems[1], project);
        Assert.AreEqual((project, 3), (size.File, size.Line));
        Assert.AreEqual((project, 7), (item.File, item.Line));
        StringAssert.StartsWith(item.ToCanonicalString(), $"{project}(7,");
    }

    [TestMethod]
    public void Fstab_OneParser_UnescapesOctal()
    {
        var entries = FstabFile.Parse("LABEL=my\\040data /mnt/my\\040disk\\011x ext4 defaults 0 2\n# c\n/dev/sdb1 none swap sw\n");
        Assert.AreEqual("LABEL=my data", entries[0].Spec);
        Assert.AreEqual("/mnt/my disk\tx", entries[0].MountPoint);
        Assert.AreEqual(1, entries[0].Line);
        Assert.IsTrue(entries[1].IsSwap);
        Assert.AreEqual(3, entries[1].Line);
    }

    [TestMethod]
    public void EveryDiagnosticPage_LinksTheRequirementsPage_AndHelpLinksAreAbsolute()
    {
        Assert.IsTrue(File.Exists(RepositoryPaths.Combine("docs", "requirements.md")));
        string requirements = File.ReadAllText(RepositoryPaths.Combine("docs", "requirements.md"));
        for (int r = 1; r <= 17; r++)
        {
            StringAssert.Contains(requirements, $"<a id=\"r{r}\"></a>", $"R{r} has an anchor");
        }
        foreach (var d in DiagnosticCatalog.All)
        {
            string page = File.ReadAllText(RepositoryPaths.Combine("docs", "diagnostics", d.Code + ".md"));
            StringAssert.Contains(page, "../requirements.md", d.Code);
            Assert.IsFalse(page.Contains("shared/REQUIREMENTS", StringComparison.Ordinal), d.Code);
            Assert.IsTrue(Uri.TryCreate(d.HelpLink, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps, d.HelpLink);
            Assert.AreEqual("https://docs.example/x/diagnostics/" + d.Code + ".md", d.HelpUri("https://docs.example/x/"));
        }
    }
}
