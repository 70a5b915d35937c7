using System.Diagnostics;

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

public static class DotNet
{
    public sealed record Result(int ExitCode, string Output);

    public static Result Run(string workingDirectory, params string[] args) => Run(workingDirectory, null, args);

    public static Result Run(string workingDirectory, Action<Process>? started, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["MSBUILDTERMINALLOGGER"] = "off";
        // The test host's own MSBuild settings must not leak into the child build.
        psi.Environment.Remove("MSBuildExtensionsPath");
        psi.Environment.Remove("MSBuildSDKsPath");
        psi.Environment.Remove("MSBUILD_EXE_PATH");
        using var process = Process.Start(psi)!;
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        started?.Invoke(process);
        if (!process.WaitForExit(15 * 60 * 1000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("dotnet " + string.Join(' ', args) + " did not finish in 15 minutes.");
        }
        process.WaitForExit();
        lock (output)
        {
            return new Result(process.ExitCode, output.ToString());
        }
    }
}
