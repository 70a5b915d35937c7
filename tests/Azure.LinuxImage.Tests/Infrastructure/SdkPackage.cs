namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>
/// Packs the SDK from this checkout once per test run, under a version unique to the run, into a
/// feed and a packages folder of the run's own: NuGet never refreshes a version it has cached, so
/// tests must never pick up an older package.
/// </summary>
public static class SdkPackage
{
    private static readonly Lazy<(string Feed, string Version, string Packages)> Packed = new(Pack, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Feed => Packed.Value.Feed;

    public static string Version => Packed.Value.Version;

    public static string PackagesFolder => Packed.Value.Packages;

    /// <summary>The packed SDK file itself.</summary>
    public static string PackageFile => Path.Combine(Feed, $"Azure.LinuxImage.Sdk.{Version}.nupkg");

    private static readonly Lazy<string> ToolPacked = new(() => PackCompanion("Azure.LinuxImage.Cli", "Azure.LinuxImage.Tool"), LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly Lazy<string> TemplatesPacked = new(() => PackCompanion("Azure.LinuxImage.Templates", "Azure.LinuxImage.Templates"), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The `linuximage` dotnet tool package, packed into the same feed under the same version as the SDK.</summary>
    public static string ToolPackageFile => ToolPacked.Value;

    /// <summary>The `dotnet new` template package, packed into the same feed under the same version as the SDK.</summary>
    public static string TemplatesPackageFile => TemplatesPacked.Value;

    /// <summary>The linuximage tool as the package ships it.</summary>
    public static string ToolAssembly => Path.Combine(PackagesFolder, "azure.linuximage.sdk", Version, "tools", "cli", "linuximage.dll");

    private static (string, string, string) Pack()
    {
        string run = Path.Combine(Path.GetTempPath(), "limg-tests", "sdk-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss") + "-" + Environment.ProcessId);
        string feed = Path.Combine(run, "feed");
        string packages = Path.Combine(run, "packages");
        Directory.CreateDirectory(feed);
        Directory.CreateDirectory(packages);
        string version = "1.0.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmss") + "." + Environment.ProcessId;
        var result = DotNet.Run(RepositoryPaths.Root, "pack", RepositoryPaths.Combine("src", "Azure.LinuxImage.Sdk", "Azure.LinuxImage.Sdk.csproj"),
            "-c", "Release", "-nr:false", "-tl:off", $"-p:Version={version}", $"-p:PackageOutputPath={feed}/");
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException("Packing the SDK failed:\n" + result.Output);
        }
        return (feed, version, packages);
    }

    /// <summary>Packs another package of the repository next to the SDK, with the SDK's version.</summary>
    private static string PackCompanion(string project, string packageId)
    {
        var result = DotNet.Run(RepositoryPaths.Root, "pack", RepositoryPaths.Combine("src", project, project + ".csproj"),
            "-c", "Release", "-nr:false", "-tl:off", $"-p:Version={Version}", $"-p:PackageOutputPath={Feed}/");
        string file = Path.Combine(Feed, $"{packageId}.{Version}.nupkg");
        if (result.ExitCode != 0 || !File.Exists(file))
        {
            throw new InvalidOperationException($"Packing {packageId} failed:\n" + result.Output);
        }
        return file;
    }
}
