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

    /// <summary>The two errors raised by Sdk targets before the tool runs say exactly what the catalog says.</summary>
    [TestMethod]
    public void TargetsErrors_MatchTheCatalog()
    {
        string targets = File.ReadAllText(RepositoryPaths.Combine("sdk", "LinuxImage.targets"));
        string unset = System.Net.WebUtility.HtmlEncode(DiagnosticCatalog.SourceDiskNotSet.MessageTemplate).Replace("&quot;", "\"", StringComparison.Ordinal);
        StringAssert.Contains(targets, unset);
        StringAssert.Contains(targets, DiagnosticCatalog.SourceDiskMissing.Format("$(SourceDiskFullPath)"));
    }

    [GeneratedRegex("^LIMG[0-9]{4}$")]
    private static partial Regex CodePattern();

    [GeneratedRegex("^R([1-9]|1[0-7])(/R([1-9]|1[0-7]))*$")]
    private static partial Regex RequirementPattern();
}
