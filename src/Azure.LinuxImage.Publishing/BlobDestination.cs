using Azure.Core;
using Azure.Identity;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;

namespace Azure.LinuxImage.Publishing;

public enum CredentialKind
{
    Sas,
    ConnectionString,
    DefaultAzureCredential,
}

/// <summary>
/// The destination page blob and the client that writes it, authenticated in the order Azure users
/// expect: a SAS (given, or in the URI), a connection string (how emulators are addressed),
/// otherwise DefaultAzureCredential (environment, workload or managed identity, Azure CLI login).
/// </summary>
public sealed class BlobDestination
{
    private BlobDestination(PageBlobClient client, CredentialKind credential, string containerName, string blobName)
    {
        Client = client;
        Credential = credential;
        ContainerName = containerName;
        BlobName = blobName;
        Description = SecretRedactor.DescribeUri(client.Uri);
    }

    public PageBlobClient Client { get; }

    public CredentialKind Credential { get; }

    public string ContainerName { get; }

    public string BlobName { get; }

    /// <summary>The blob's URI without its query, fit for any message.</summary>
    public string Description { get; }

    public static BlobDestination Create(PublishOptions options, SecretRedactor redactor)
    {
        string blobUri = options.BlobUri?.Trim() ?? string.Empty;
        if (blobUri.Length == 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.PublishDestinationNotSet, null);
        }
        string shown = redactor.Redact(blobUri.Split('?')[0]);
        var clientOptions = new BlobClientOptions();
        clientOptions.Retry.MaxRetries = Math.Max(0, options.MaxRetries);
        clientOptions.Retry.Delay = options.RetryDelay;
        clientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(Math.Max(30, options.RetryDelay.TotalSeconds));
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.NetworkTimeout = options.NetworkTimeout;
        clientOptions.Diagnostics.IsLoggingContentEnabled = false;

        bool absolute = Uri.TryCreate(blobUri, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);
        string? sas = Normalize(options.Sas);
        string? connectionString = Normalize(options.ConnectionString);

        if (!absolute)
        {
            // "container/blob" is enough when the connection string names the account.
            if (connectionString is null || blobUri.Contains("://", StringComparison.Ordinal))
            {
                throw new LinuxImageException(DiagnosticCatalog.PublishDestinationInvalid, null, shown,
                    "expected an http(s) URI such as https://myaccount.blob.core.windows.net/vhds/MyImage.vhd");
            }
            var (container, blob) = SplitPath(blobUri.TrimStart('/'), shown);
            var service = ServiceFromConnectionString(connectionString, clientOptions);
            return new BlobDestination(service.GetBlobContainerClient(container).GetPageBlobClient(blob), CredentialKind.ConnectionString, container, blob);
        }

        BlobUriBuilder parts;
        try
        {
            parts = new BlobUriBuilder(uri!);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new LinuxImageException(DiagnosticCatalog.PublishDestinationInvalid, null, shown, redactor.Redact(e.Message));
        }
        if (string.IsNullOrEmpty(parts.BlobContainerName) || string.IsNullOrEmpty(parts.BlobName))
        {
            throw new LinuxImageException(DiagnosticCatalog.PublishDestinationInvalid, null, shown,
                "the path must name a container and a blob, as in /vhds/MyImage.vhd");
        }
        string containerName = parts.BlobContainerName;
        string blobName = parts.BlobName;
        bool sasInUri = parts.Sas is not null && !string.IsNullOrEmpty(parts.Sas.Signature);

        if (sas is not null)
        {
            parts.Sas = null;
            parts.Query = null;
            var credential = new AzureSasCredential(SasToken.Normalize(sas));
            return new BlobDestination(new PageBlobClient(parts.ToUri(), credential, clientOptions), CredentialKind.Sas, containerName, blobName);
        }
        if (sasInUri)
        {
            string token = SasToken.Normalize(uri!.Query);
            parts.Sas = null;
            parts.Query = null;
            return new BlobDestination(new PageBlobClient(parts.ToUri(), new AzureSasCredential(token), clientOptions), CredentialKind.Sas, containerName, blobName);
        }
        if (connectionString is not null)
        {
            var service = ServiceFromConnectionString(connectionString, clientOptions);
            var client = service.GetBlobContainerClient(containerName).GetPageBlobClient(blobName);
            if (!SameAccount(client.Uri, uri!))
            {
                throw new LinuxImageException(DiagnosticCatalog.PublishDestinationInvalid, null, shown,
                    $"the connection string is for '{SecretRedactor.DescribeUri(service.Uri)}', another account; give just 'container/blob' or a matching URI");
            }
            return new BlobDestination(client, CredentialKind.ConnectionString, containerName, blobName);
        }
        if (uri!.Scheme != Uri.UriSchemeHttps)
        {
            // The SDK refuses to send a bearer token in clear text, with a message about tokens.
            throw new LinuxImageException(DiagnosticCatalog.PublishDestinationInvalid, null, shown,
                "an http:// destination (such as a local emulator) needs AzureBlobSas or AzureStorageConnectionString; DefaultAzureCredential works only over https");
        }
        var identity = new DefaultAzureCredential(new DefaultAzureCredentialOptions { ExcludeInteractiveBrowserCredential = true });
        return new BlobDestination(new PageBlobClient(uri!, identity, clientOptions), CredentialKind.DefaultAzureCredential, containerName, blobName);
    }

    private static string? Normalize(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static (string Container, string Blob) SplitPath(string path, string shown)
    {
        int slash = path.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == path.Length - 1)
        {
            throw new LinuxImageException(DiagnosticCatalog.PublishDestinationInvalid, null, shown,
                "with a connection string, give 'container/blob' or the blob's full URI");
        }
        return (path[..slash], path[(slash + 1)..]);
    }

    private static BlobServiceClient ServiceFromConnectionString(string connectionString, BlobClientOptions clientOptions)
    {
        try
        {
            return new BlobServiceClient(connectionString, clientOptions);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            // The parser's message can quote the string it failed on, so none of it is shown.
            throw new LinuxImageException(DiagnosticCatalog.PublishCredentialsInvalid, null,
                "AzureStorageConnectionString is not a valid storage connection string (expected e.g. DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;EndpointSuffix=core.windows.net)");
        }
    }

    private static bool SameAccount(Uri fromConnectionString, Uri given)
    {
        var a = new BlobUriBuilder(fromConnectionString);
        var b = new BlobUriBuilder(given);
        return string.Equals(fromConnectionString.Host, given.Host, StringComparison.OrdinalIgnoreCase)
            && fromConnectionString.Port == given.Port
            && string.Equals(a.AccountName, b.AccountName, StringComparison.OrdinalIgnoreCase);
    }
}
