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
}
