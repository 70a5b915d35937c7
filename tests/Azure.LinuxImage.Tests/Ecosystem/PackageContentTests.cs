using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Ecosystem;

/// <summary>
/// What a package page and a package feed show of each package of the repository: complete metadata,
/// an icon and a README the package carries, README links that work there, one version for all three,
/// and a tool folder holding only what the tool uses.
/// </summary>
[TestClass]
public sealed partial class PackageContentTests
{
    public static IEnumerable<object[]> Packages =>
    [
        ["Azure.LinuxImage.Sdk"],
        ["Azure.LinuxImage.Tool"],
        ["Azure.LinuxImage.Templates"],
    ];

    [TestMethod]
    [DynamicData(nameof(Packages))]
    public void Package_HasCompleteMetadata_AndAReadmeWhoseLinksWorkOnAPackagePage(string id)
    {
        using var package = ZipFile.OpenRead(PackageFile(id));
        var nuspecEntry = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/', StringComparison.Ordinal));
        XElement metadata;
        using (var stream = nuspecEntry.Open())
        {
            metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        }
        string? Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;

        Assert.AreEqual(id, Field("id"));
        Assert.AreEqual(SdkPackage.Version, Field("version"), "every package has the SDK's version");
        foreach (string name in new[] { "description", "authors", "projectUrl", "icon", "readme", "license", "tags", "copyright" })
        {
            Assert.IsFalse(string.IsNullOrWhiteSpace(Field(name)), $"{id}: <{name}> is set");
        }
        Assert.IsTrue(Uri.TryCreate(Field("projectUrl"), UriKind.Absolute, out _), "projectUrl is an absolute URL");
        var repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
        Assert.AreEqual("git", repository.Attribute("type")?.Value);
        Assert.IsTrue(Uri.TryCreate(repository.Attribute("url")?.Value, UriKind.Absolute, out _), "repository url is an absolute URL");
        Assert.AreEqual("MIT", Field("license"));

        Assert.IsNotNull(package.GetEntry(Field("icon")!), "the icon is in the package");
        var readme = package.GetEntry(Field("readme")!);
        Assert.IsNotNull(readme, "the README is in the package");
        string text;
        using (var reader = new StreamReader(readme.Open()))
        {
            text = reader.ReadToEnd();
        }
        foreach (Match link in MarkdownLink().Matches(text))
        {
            string target = link.Groups["target"].Value;
            bool absolute = Uri.TryCreate(target, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http";
            bool packaged = package.GetEntry(target.TrimStart('.', '/')) is not null;
            Assert.IsTrue(absolute || packaged, $"{id}: README link '{target}' points at nothing a package page can show");
        }
    }

    [TestMethod]
    public void ToolFolders_CarryNoAssemblyTheToolNeverLoads()
    {
        foreach (string id in new[] { "Azure.LinuxImage.Sdk", "Azure.LinuxImage.Tool" })
        {
            using var package = ZipFile.OpenRead(PackageFile(id));
            var names = package.Entries.Select(e => e.FullName).ToList();
            Assert.IsTrue(names.Any(n => n.EndsWith("/linuximage.dll", StringComparison.Ordinal)), $"{id} carries the tool");
            // Apache.Arrow comes with Azure.Storage.Blobs for blob quick query only; no symbols in a release package.
            Assert.IsFalse(names.Any(n => n.Contains("Apache.Arrow", StringComparison.OrdinalIgnoreCase)), $"{id}: {string.Join(", ", names)}");
            Assert.IsFalse(names.Any(n => n.EndsWith(".pdb", StringComparison.Ordinal)), $"{id}: {string.Join(", ", names)}");
            var deps = package.Entries.Single(e => e.FullName.EndsWith("/linuximage.deps.json", StringComparison.Ordinal));
            using var reader = new StreamReader(deps.Open());
            Assert.IsFalse(reader.ReadToEnd().Contains("Apache.Arrow", StringComparison.Ordinal), $"{id}: deps.json still names Apache.Arrow");
        }
    }

    private static string PackageFile(string id) => id switch
    {
        "Azure.LinuxImage.Sdk" => SdkPackage.PackageFile,
        "Azure.LinuxImage.Tool" => SdkPackage.ToolPackageFile,
        "Azure.LinuxImage.Templates" => SdkPackage.TemplatesPackageFile,
        _ => throw new ArgumentException(id, nameof(id)),
    };

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)|<(?:img|a)\s[^>]*(?:src|href)=""(?<target>[^""]+)""")]
    private static partial Regex MarkdownLink();
}
