namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>The linuximage tool as the solution built it, in this test assembly's configuration, run as a child.</summary>
public static class LinuxImageTool
{
    public static string Assembly
    {
        get
        {
            string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
            string path = RepositoryPaths.Combine("src", "Azure.LinuxImage.Cli", "bin", configuration, "net10.0", "linuximage.dll");
            Assert.IsTrue(File.Exists(path), $"{path} was not built");
            return path;
        }
    }

    /// <summary>Standard output and error kept apart: the tool's contract is results on one, errors on the other.</summary>
    public static ExternalTool.Result Run(params string[] args) => ExternalTool.Run("dotnet", [Assembly, .. args], timeoutSeconds: 300);

    /// <summary>With <paramref name="environment"/> added to this process's (SOURCE_DATE_EPOCH for images compared byte for byte).</summary>
    public static ExternalTool.Result RunWith(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        ExternalTool.Run("dotnet", [Assembly, .. args], timeoutSeconds: 300, environment: environment);
}
