namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>A scratch folder per test, removed afterwards (kept when LIMG_KEEP_TEST_FILES=1, for debugging).</summary>
public sealed class TempDir : IDisposable
{
    public TempDir(string? name = null)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "limg-tests", (name ?? "t") + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("LIMG_KEEP_TEST_FILES") == "1")
        {
            return;
        }
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
