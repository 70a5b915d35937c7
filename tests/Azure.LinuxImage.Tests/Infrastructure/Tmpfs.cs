namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>A small tmpfs mounted for one test (we run as root), always unmounted: a volume that fills up.</summary>
public sealed class Tmpfs : IDisposable
{
    private readonly TempDir dir = new("tmpfs");

    public Tmpfs(int sizeMiB)
    {
        Path = dir["mnt"];
        Directory.CreateDirectory(Path);
        ExternalTool.RunChecked("mount", "-t", "tmpfs", "-o", $"size={sizeMiB}m", "tmpfs", Path);
    }

    public string Path { get; }

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        // Lazy: a process the test killed may still be letting go of a file in it.
        ExternalTool.Run("umount", ["-l", Path]);
        dir.Dispose();
    }
}
