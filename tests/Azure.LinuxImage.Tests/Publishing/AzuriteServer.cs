using System.Net.Sockets;
using Azure.LinuxImage.Tests.Infrastructure;
using Azure.Storage.Blobs;

namespace Azure.LinuxImage.Tests.Publishing;

/// <summary>
/// The Azurite instance the publishing tests talk to, through the same connection string / SAS code
/// path as Azure. Under CI=true, .ci/run must have started it (scripts/azurite.sh start) and an
/// unreachable server fails the test; locally the tests start it with the same script.
/// </summary>
internal static class AzuriteServer
{
    // Azurite's fixed development account; public, documented, not a secret.
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly Lock Gate = new();
    private static bool checkedRunning;
    private static bool startedHere;

    public static int Port => int.TryParse(Environment.GetEnvironmentVariable("AZURITE_BLOB_PORT"), out int p) ? p : 10000;

    public static string BlobEndpoint => $"http://127.0.0.1:{Port}/{AccountName}";

    public static string ConnectionString(string? key = null, string? endpoint = null) =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={key ?? AccountKey};BlobEndpoint={endpoint ?? BlobEndpoint};";

    public static BlobServiceClient Service() => new(ConnectionString());

    public static void EnsureRunning()
    {
        lock (Gate)
        {
            if (checkedRunning)
            {
                return;
            }
            if (!Answers())
            {
                if (Environment.GetEnvironmentVariable("CI") == "true")
                {
                    Assert.Fail($"Azurite does not answer on 127.0.0.1:{Port}. .ci/run must run 'scripts/azurite.sh start' before the tests.");
                }
                var result = ExternalTool.Run("bash", [Path.Combine(RepositoryRoot(), "scripts", "azurite.sh"), "start"], timeoutSeconds: 300);
                if (result.ExitCode != 0 || !Answers())
                {
                    Assert.Fail($"scripts/azurite.sh start failed (exit {result.ExitCode}):\n{result.All}");
                }
                startedHere = true;
                // Stopped when the test host exits, not after one class: classes run side by side.
                AppDomain.CurrentDomain.ProcessExit += (_, _) => StopIfStartedHere();
            }
            checkedRunning = true;
        }
    }

    /// <summary>Stops the server only if these tests started it; one started by .ci/run is its to stop.</summary>
    private static void StopIfStartedHere()
    {
        lock (Gate)
        {
            if (startedHere)
            {
                ExternalTool.Run("bash", [Path.Combine(RepositoryRoot(), "scripts", "azurite.sh"), "stop"]);
                startedHere = false;
                checkedRunning = false;
            }
        }
    }

    /// <summary>A new, empty container for one test.</summary>
    public static async Task<string> CreateContainerAsync()
    {
        EnsureRunning();
        string name = "t" + Guid.NewGuid().ToString("N")[..20];
        await Service().CreateBlobContainerAsync(name);
        return name;
    }

    public static async Task DeleteContainerAsync(string name)
    {
        try
        {
            await Service().DeleteBlobContainerAsync(name);
        }
        catch (RequestFailedException)
        {
        }
    }

    /// <summary>A port on 127.0.0.1 that nothing listens on: bound, then released.</summary>
    public static int ClosedPort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static bool Answers()
    {
        try
        {
            using var client = new TcpClient();
            return client.ConnectAsync("127.0.0.1", Port).Wait(TimeSpan.FromSeconds(2)) && client.Connected;
        }
        catch (AggregateException)
        {
            return false;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LinuxImageSdk.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("LinuxImageSdk.sln not found above " + AppContext.BaseDirectory);
    }
}
