using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Azure.LinuxImage.Tests.Infrastructure;
using Azure.Storage;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;

namespace Azure.LinuxImage.Tests.Publishing;

/// <summary>
/// The linuximage tool's publish command and the SDK's PublishImage target, run as a user runs them
/// (the packed SDK, child processes) against Azurite: secrets come from the environment or from
/// properties and never reach the output, the build log or the binlog.
/// </summary>
[TestClass]
public sealed class PublishCommandTests : IDisposable
{
    private string container = string.Empty;
    private readonly TempDir dir = new("publish-cli");

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public async Task Setup() => container = await AzuriteServer.CreateContainerAsync();

    [TestCleanup]
    public async Task Cleanup() => await AzuriteServer.DeleteContainerAsync(container);

    public void Dispose() => dir.Dispose();

    [TestMethod]
    public void Tool_publishes_with_a_SAS_from_the_environment_and_then_reports_up_to_date()
    {
        string vhd = dir["image.vhd"];
        SparseVhd.Create(vhd, 40, SparseVhd.ScatteredWrites());
        string sas = Sas();
        var env = new Dictionary<string, string> { ["LIMG_AZURE_BLOB_SAS"] = sas };

        var first = RunTool(env, "publish", vhd, "--skip-validation", "--blob-uri", BlobUri(), "--verify", "Full");
        var second = RunTool(env, "publish", vhd, "--skip-validation", "--blob-uri", BlobUri());

        Assert.AreEqual(0, first.ExitCode, first.Output);
        StringAssert.Contains(first.Output, "uploaded:");
        StringAssert.Contains(first.Output, "linuximage: uploading 100%");
        Assert.AreEqual(0, second.ExitCode, second.Output);
        StringAssert.Contains(second.Output, "LIMG0612");
        CollectionAssert.AreEqual(File.ReadAllBytes(vhd), Download("image.vhd"));
        AssertNoSecret(first.Output + second.Output, SasSignature(sas));
    }

    [TestMethod]
    public void A_killed_publish_is_resumed_by_the_next_one_which_sends_only_what_is_missing()
    {
        string vhd = dir["image.vhd"];
        // 48 MiB of data in 1 MiB runs over 128 MiB: a few seconds of upload, one write at a time.
        SparseVhd.Create(vhd, 128, Enumerable.Range(0, 48).Select(i => ((long)i * 8 / 3 * SparseVhd.MiB, SparseVhd.Data((int)SparseVhd.MiB, i))));
        var env = new Dictionary<string, string> { ["LIMG_AZURE_STORAGE_CONNECTION_STRING"] = AzuriteServer.ConnectionString() };
        string[] args = [ToolAssembly, "publish", vhd, "--skip-validation", "--blob-uri", $"{container}/image.vhd", "--parallelism", "1"];

        // Killed (SIGKILL, no chance to clean up) once it reports upload progress.
        var killed = RunDotNet(Path.GetTempPath(), env, args, killWhen: line => line.StartsWith("linuximage: uploading", StringComparison.Ordinal) && !line.Contains(" 0% ", StringComparison.Ordinal));
        Assert.AreNotEqual(0, killed.ExitCode, killed.Output);
        Assert.DoesNotContain("uploaded:", killed.Output);
        long presentBeforeResume = 0;
        foreach (var range in Blob("image.vhd").GetAllPageRanges(cancellationToken: TestContext.CancellationToken))
        {
            presentBeforeResume += range.Range.Length ?? 0;
        }
        Assert.IsGreaterThan(0L, presentBeforeResume, "the killed run had written part of the image");

        var resumed = RunDotNet(Path.GetTempPath(), env, [.. args, "--verify", "Full"]);

        Assert.AreEqual(0, resumed.ExitCode, resumed.Output);
        StringAssert.Contains(resumed.Output, "resumed and completed");
        StringAssert.Contains(resumed.Output, "already present");
        CollectionAssert.AreEqual(File.ReadAllBytes(vhd), Download("image.vhd"));
    }

    [TestMethod]
    public void Tool_reports_a_wrong_key_from_the_environment_as_LIMG0603_without_the_key()
    {
        string vhd = dir["image.vhd"];
        SparseVhd.Create(vhd, 8, [(0, SparseVhd.Data(4096, 1))]);
        string wrongKey = Convert.ToBase64String(SHA512.HashData("wrong"u8));
        var env = new Dictionary<string, string> { ["LIMG_AZURE_STORAGE_CONNECTION_STRING"] = AzuriteServer.ConnectionString(key: wrongKey) };

        var run = RunTool(env, "publish", vhd, "--skip-validation", "--blob-uri", $"{container}/image.vhd");

        Assert.AreEqual(1, run.ExitCode, run.Output);
        StringAssert.Contains(run.Output, "error LIMG0603");
        AssertNoSecret(run.Output, wrongKey);
    }

    [TestMethod]
    public void Tool_never_uploads_an_image_with_validation_errors()
    {
        string vhd = dir["image.vhd"];
        // qemu-img's fixed VHD states a CHS geometry the specification's algorithm does not give
        // (warning LIMG0175), promoted to an error the MSBuild way.
        ExternalTool.RunChecked("qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=fixed,force_size=on", vhd, "20M");
        var env = new Dictionary<string, string> { ["LIMG_AZURE_STORAGE_CONNECTION_STRING"] = AzuriteServer.ConnectionString() };

        var run = RunTool(env, "publish", vhd, "--blob-uri", $"{container}/image.vhd", "--image-kind", "DataDisk", "--warnings-as-errors", "LIMG0175");

        Assert.AreEqual(1, run.ExitCode, run.Output);
        StringAssert.Contains(run.Output, "error LIMG0175");
        StringAssert.Contains(run.Output, "not publishing");
        Assert.IsFalse(Blob("image.vhd").Exists(TestContext.CancellationToken).Value, "nothing was uploaded");
    }

    [TestMethod]
    public void PublishImage_target_uploads_the_built_image_and_no_secret_reaches_the_log_or_the_binlog()
    {
        using var project = new ImageProject();
        DiskFixtures.Raw(project["disk.img"], 24 * SparseVhd.MiB, 8192, 5 * SparseVhd.MiB, 20 * SparseVhd.MiB);
        project.WriteDataDisk("disk.img", $"""
              <PropertyGroup>
                <AzureBlobUri>{container}/MyImage.vhd</AzureBlobUri>
                <AzureUploadParallelism>2</AzureUploadParallelism>
              </PropertyGroup>
            """);
        string binlog = project["publish.binlog"];
        // Route 1: the secret in the environment, where MSBuild never reads it.
        var fromEnvironment = RunDotNet(project.Directory, new() { ["LIMG_AZURE_STORAGE_CONNECTION_STRING"] = AzuriteServer.ConnectionString() },
            "build", project.ProjectPath, "-t:PublishImage", "-nr:false", "-tl:off", "-v:detailed", "-bl:" + binlog);

        Assert.AreEqual(0, fromEnvironment.ExitCode, fromEnvironment.Output);
        StringAssert.Contains(fromEnvironment.Output, "uploaded:");
        CollectionAssert.AreEqual(File.ReadAllBytes(project.ImagePath), Download("MyImage.vhd"));
        AssertNoSecret(fromEnvironment.Output, AzuriteServer.AccountKey);
        AssertNoSecret(BinlogText(binlog), AzuriteServer.AccountKey);

        // Route 2: the SAS as a property. MSBuild records properties in a binlog itself, so only the
        // build log (where the tool's command line and response file are shown) is checked here.
        string sas = Sas("MyImage.vhd");
        var fromProperty = RunDotNet(project.Directory, [],
            "build", project.ProjectPath, "-t:PublishImage", "-nr:false", "-tl:off", "-v:detailed", $"-p:AzureBlobUri={AzuriteServer.BlobEndpoint}/{container}/MyImage.vhd",
            "-p:AzureBlobSas=" + sas);

        Assert.AreEqual(0, fromProperty.ExitCode, fromProperty.Output);
        StringAssert.Contains(fromProperty.Output, "LIMG0612");
        StringAssert.Contains(fromProperty.Output, "publish");
        // `dotnet publish` of an image project is the same upload (the image is unchanged: up to date).
        var published = RunDotNet(project.Directory, new() { ["LIMG_AZURE_STORAGE_CONNECTION_STRING"] = AzuriteServer.ConnectionString() },
            "publish", project.ProjectPath, "-c", "Debug", "-nr:false", "-tl:off", "-v:n");
        Assert.AreEqual(0, published.ExitCode, published.Output);
        StringAssert.Contains(published.Output, "LIMG0612");

        // MSBuild echoes its own command line at this verbosity: that line is the test's, not ours.
        string ours = string.Join('\n', fromProperty.Output.Split('\n').Where(l => !l.Contains("Command line arguments =", StringComparison.Ordinal)));
        AssertNoSecret(ours, SasSignature(sas));
    }

    [TestMethod]
    public void PublishImage_target_never_uploads_when_the_build_fails()
    {
        using var project = new ImageProject();
        // A blank disk declared as an OS disk has no guest, so the build fails (at patch, before
        // validation). PublishImage depends on Build, ValidateImage included; the tool's own gate for
        // validation errors is Tool_never_uploads_an_image_with_validation_errors.
        DiskFixtures.Raw(project["disk.img"], 16 * SparseVhd.MiB, 8192);
        project.WriteOsDisk("disk.img", $"""
              <PropertyGroup>
                <AzureBlobUri>{container}/MyImage.vhd</AzureBlobUri>
              </PropertyGroup>
            """);

        var run = RunDotNet(project.Directory, new() { ["LIMG_AZURE_STORAGE_CONNECTION_STRING"] = AzuriteServer.ConnectionString() },
            "build", project.ProjectPath, "-t:PublishImage", "-nr:false", "-tl:off", "-v:detailed");

        Assert.AreNotEqual(0, run.ExitCode, run.Output);
        StringAssert.Contains(run.Output, "error LIMG");
        Assert.DoesNotContain("Task \"PublishLinuxImage\"", run.Output, "the upload task never ran");
        Assert.IsFalse(Blob("MyImage.vhd").Exists(TestContext.CancellationToken).Value, "nothing was uploaded");
    }

    private string BlobUri() => $"{AzuriteServer.BlobEndpoint}/{container}/image.vhd";

    private PageBlobClient Blob(string name) => AzuriteServer.Service().GetBlobContainerClient(container).GetPageBlobClient(name);

    private byte[] Download(string name) => Blob(name).DownloadContent(TestContext.CancellationToken).Value.Content.ToArray();

    private string Sas(string blob = "image.vhd") =>
        new BlobSasBuilder(BlobSasPermissions.Read | BlobSasPermissions.Create | BlobSasPermissions.Write, DateTimeOffset.UtcNow.AddHours(1))
        {
            BlobContainerName = container,
            BlobName = blob,
            Resource = "b",
        }.ToSasQueryParameters(new StorageSharedKeyCredential(AzuriteServer.AccountName, AzuriteServer.AccountKey)).ToString();

    private static string SasSignature(string sas) =>
        Uri.UnescapeDataString(sas.Split('&').Single(p => p.StartsWith("sig=", StringComparison.Ordinal))[4..]);

    private static void AssertNoSecret(string text, string secret)
    {
        Assert.DoesNotContain(secret, text, "a secret leaked");
        Assert.DoesNotContain(Uri.EscapeDataString(secret), text, "a secret leaked (URL-encoded)");
    }

    /// <summary>A binlog is a gzip stream of records whose strings are UTF-8; good enough to search.</summary>
    private static string BinlogText(string path)
    {
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gzip.CopyTo(memory);
        return Encoding.UTF8.GetString(memory.ToArray());
    }

    private static DotNet.Result RunTool(Dictionary<string, string> env, params string[] args) =>
        RunDotNet(Path.GetTempPath(), env, [ToolAssembly, .. args]);

    private static string ToolAssembly => LinuxImageTool.Assembly;

    private static DotNet.Result RunDotNet(string workingDirectory, Dictionary<string, string> env, params string[] args) =>
        RunDotNet(workingDirectory, env, args, killWhen: null);

    private static DotNet.Result RunDotNet(string workingDirectory, Dictionary<string, string> env, string[] args, Func<string, bool>? killWhen) =>
        DotNet.Run(workingDirectory, env, killWhen, null, args);
}
