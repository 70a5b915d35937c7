using Azure.LinuxImage.Tests.Infrastructure;
using Azure.LinuxImage.Tests.Publishing;
using Azure.Storage.Blobs.Specialized;

namespace Azure.LinuxImage.Tests.Reliability;

/// <summary>
/// `dotnet build -t:PublishImage` killed (SIGKILL of the whole tree) at a seeded random moment of
/// the upload, then run again: the upload resumes and the blob equals the image.
/// </summary>
[TestClass]
public sealed class KillDuringPublishTests
{
    private string container = string.Empty;

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public async Task Setup() => container = await AzuriteServer.CreateContainerAsync();

    [TestCleanup]
    public async Task Cleanup() => await AzuriteServer.DeleteContainerAsync(container);

    [TestMethod]
    public void A_publish_killed_at_a_random_moment_is_resumed_and_the_blob_equals_the_image()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("LIMG_KILL_SEED"), out int s) ? s : Environment.TickCount & 0x7FFFFFFF;
        TestContext.WriteLine($"kill seed: {seed} (replay with LIMG_KILL_SEED={seed})");
        var random = new Random(seed);

        using var project = new ImageProject();
        string raw = DiskFixtures.Raw(project["disk.img"], 96 * SparseVhd.MiB, 8192);
        using (var stream = new FileStream(raw, FileMode.Open))
        {
            // 40 MiB of data in 1 MiB runs: seconds of upload, one write at a time.
            for (int i = 0; i < 40; i++)
            {
                stream.Position = (long)i * 2 * SparseVhd.MiB + SparseVhd.MiB;
                stream.Write(SparseVhd.Data((int)SparseVhd.MiB, i));
            }
        }
        project.WriteDataDisk("disk.img", $"""
              <PropertyGroup>
                <AzureBlobUri>{container}/MyImage.vhd</AzureBlobUri>
                <AzureUploadParallelism>1</AzureUploadParallelism>
              </PropertyGroup>
            """);
        var env = new Dictionary<string, string> { ["LIMG_AZURE_STORAGE_CONNECTION_STRING"] = AzuriteServer.ConnectionString() };
        Assert.AreEqual(0, project.Build().ExitCode, "built first, so the kill falls in the upload");

        int delayMs = random.Next(0, 3000);
        TestContext.WriteLine($"kill {delayMs} ms after the upload task started");
        var started = new ManualResetEventSlim();
        var killed = DotNet.Run(project.Directory, env,
            line =>
            {
                if (line.Contains("Task \"PublishLinuxImage\"", StringComparison.Ordinal))
                {
                    started.Set();
                }
                return false;
            },
            process =>
            {
                if (started.Wait(TimeSpan.FromMinutes(5)))
                {
                    Thread.Sleep(delayMs);
                    if (!process.HasExited)
                    {
                        process.Kill(entireProcessTree: true);
                    }
                }
            },
            ["build", project.ProjectPath, "-t:PublishImage", "-nr:false", "-tl:off", "-v:d"]);
        Assert.IsTrue(started.IsSet, killed.Output);

        var resumed = DotNet.Run(project.Directory, env, null, null,
            ["build", project.ProjectPath, "-t:PublishImage", "-nr:false", "-tl:off", "-v:n", "-p:AzureUploadVerify=Full"]);

        Assert.AreEqual(0, resumed.ExitCode, resumed.Output);
        var blob = AzuriteServer.Service().GetBlobContainerClient(container).GetPageBlobClient("MyImage.vhd");
        CollectionAssert.AreEqual(File.ReadAllBytes(project.ImagePath), blob.DownloadContent(TestContext.CancellationToken).Value.Content.ToArray());
    }
}
