namespace Azure.LinuxImage.Tests.Infrastructure;

public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LinuxImageSdk.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("The repository root (LinuxImageSdk.sln) was not found above " + AppContext.BaseDirectory);
    }
}
