using System.Diagnostics;

namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>A real .imgproj in a scratch folder, built with `dotnet build` as a child process against the freshly packed SDK.</summary>
public sealed class ImageProject : IDisposable
{
    private readonly TempDir dir = new("proj");

    public ImageProject(string name = "MyImage")
    {
        Name = name;
        File.WriteAllText(Path.Combine(Directory, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{SdkPackage.PackagesFolder}" /></config>
              <packageSources><clear /><add key="sdk" value="{SdkPackage.Feed}" /></packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(Directory, "global.json"), $$"""
            { "msbuild-sdks": { "Azure.LinuxImage.Sdk": "{{SdkPackage.Version}}" } }
            """);
    }

    public string Name { get; }

    public string Directory => dir.Path;

    public string ProjectPath => Path.Combine(Directory, Name + ".imgproj");

    public string ImagePath => Path.Combine(Directory, "bin", "Debug", Name + ".vhd");

    /// <summary>Where the steps work on the image until it is validated (LinuxImageWorkImage).</summary>
    public string WorkImagePath => Path.Combine(Directory, "obj", "Debug", "linuximage", Name + ".vhd");

    public string ReportPath => Path.Combine(Directory, "bin", "Debug", Name + ".validation.json");

    public string this[string relative] => Path.Combine(Directory, relative);

    /// <summary>Writes the project with the given body inside &lt;Project&gt;.</summary>
    public ImageProject Write(string body)
    {
        File.WriteAllText(ProjectPath, $"""
            <Project Sdk="Azure.LinuxImage.Sdk">
            {body}
            </Project>
            """);
        return this;
    }

    /// <summary>An OS disk project: the guest is patched and validated.</summary>
    public ImageProject WriteOsDisk(string sourceDisk, string extra = "") => WriteWithSource(sourceDisk, "OsDisk", extra);

    /// <summary>A data disk project: the disk-level pipeline only, for synthetic disks without a guest.</summary>
    public ImageProject WriteDataDisk(string sourceDisk, string extra = "") => WriteWithSource(sourceDisk, "DataDisk", extra);

    private ImageProject WriteWithSource(string sourceDisk, string kind, string extra) =>
        Write($"""
              <PropertyGroup>
                <SourceDisk>{sourceDisk}</SourceDisk>
                <ImageKind>{kind}</ImageKind>
              </PropertyGroup>
            {extra}
            """);

    public DotNet.Result Build(params string[] extraArgs) =>
        DotNet.Run(Directory, ["build", ProjectPath, "-nr:false", "-tl:off", "-v:n", .. extraArgs]);

    public DotNet.Result Run(params string[] args) => DotNet.Run(Directory, args);

    public DotNet.Result BuildAndKill(Func<bool> killWhen, params string[] extraArgs) =>
        DotNet.Run(Directory, process =>
        {
            var watch = Stopwatch.StartNew();
            while (!process.HasExited && watch.Elapsed < TimeSpan.FromMinutes(5))
            {
                if (killWhen())
                {
                    process.Kill(entireProcessTree: true);
                    return;
                }
                Thread.Sleep(5);
            }
        }, ["build", ProjectPath, "-nr:false", "-tl:off", "-v:n", .. extraArgs]);

    public void Dispose() => dir.Dispose();
}
