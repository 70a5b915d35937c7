using System.Text.RegularExpressions;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Diagnostics;

[TestClass]
public sealed partial class DiagnosticCatalogTests
{
    [TestMethod]
    public void EveryCode_IsUniqueWellFormedAndDocumented()
    {
        var all = DiagnosticCatalog.All;
        Assert.IsTrue(all.Count > 10);
        Assert.AreEqual(all.Count, all.Select(d => d.Code).Distinct().Count(), "duplicate codes");
        foreach (var d in all)
        {
            Assert.IsTrue(CodePattern().IsMatch(d.Code), d.Code);
            Assert.IsTrue(d.Requirement == "-" || RequirementPattern().IsMatch(d.Requirement), $"{d.Code}: requirement '{d.Requirement}'");
            Assert.IsTrue(File.Exists(RepositoryPaths.Combine("docs", "diagnostics", d.Code + ".md")), $"docs/diagnostics/{d.Code}.md is missing");
        }
    }

    /// <summary>The errors raised by the Sdk targets and tasks before the tool runs say exactly what the catalog says.</summary>
    [TestMethod]
    public void TargetsErrors_MatchTheCatalog()
    {
        string targets = File.ReadAllText(RepositoryPaths.Combine("sdk", "LinuxImage.targets"));
        string unset = System.Net.WebUtility.HtmlEncode(DiagnosticCatalog.SourceDiskNotSet.MessageTemplate).Replace("&quot;", "\"", StringComparison.Ordinal);
        StringAssert.Contains(targets, unset);
        StringAssert.Contains(targets, DiagnosticCatalog.SourceDiskMissing.Format("$(SourceDiskFullPath)"));
        string folder = System.Net.WebUtility.HtmlEncode(DiagnosticCatalog.SourceDiskIsDirectory.Format("$(SourceDiskFullPath)")).Replace("&#39;", "'", StringComparison.Ordinal);
        StringAssert.Contains(targets, folder);
        string lockTask = File.ReadAllText(RepositoryPaths.Combine("src", "Azure.LinuxImage.Tasks", "LockLinuxImageBuild.cs"));
        StringAssert.Contains(lockTask, DiagnosticCatalog.BuildInProgress.MessageTemplate);
    }

    /// <summary>A guest path must never reach the build log as a file: IDEs would open the build machine's own /etc/fstab.</summary>
    [TestMethod]
    public void GuestPaths_GoIntoTheText_HostFilesStay()
    {
        var guest = Diagnostic.Create(DiagnosticCatalog.ImageNotBuilt, "/etc/fstab", "x");
        var moved = guest.InGuest("/images/a.vhd");
        Assert.IsNull(moved.File);
        StringAssert.EndsWith(moved.Message, "(in the guest: /etc/fstab)");
        var host = Diagnostic.Create(DiagnosticCatalog.ImageNotBuilt, "/images/a.vhd", "x");
        Assert.AreSame(host, host.InGuest("/images/a.vhd"));
        var thrown = new LinuxImageException(DiagnosticCatalog.ImageNotBuilt, "/etc/waagent.conf", "x").InGuest("/images/a.vhd");
        Assert.IsNull(thrown.File);
        Assert.AreEqual("LIMG0008", thrown.Descriptor.Code);
    }

    [GeneratedRegex("^LIMG[0-9]{4}$")]
    private static partial Regex CodePattern();

    [GeneratedRegex("^R([1-9]|1[0-7])(/R([1-9]|1[0-7]))*$")]
    private static partial Regex RequirementPattern();
}
