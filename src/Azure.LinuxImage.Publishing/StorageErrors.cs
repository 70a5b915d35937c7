using System.Net.Sockets;
using Azure.Identity;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Publishing;

/// <summary>
/// Turns the SDK's exceptions into diagnostics a user can act on. The SDK's own messages list request
/// headers and URIs; only the status, the service's error code and a redacted first line are kept,
/// and no inner exception is attached, so nothing unredacted travels with the error.
/// </summary>
internal static class StorageErrors
{
    public static LinuxImageException Map(Exception e, BlobDestination destination, SecretRedactor redactor, string action, string? file)
    {
        string where = destination.Description;
        switch (e)
        {
            case LinuxImageException known:
                return known;
            case CredentialUnavailableException:
                return new LinuxImageException(DiagnosticCatalog.PublishAuthenticationFailed, file, where, "DefaultAzureCredential",
                    "no credential is available. Set AzureBlobSas or AzureStorageConnectionString, or sign in (az login, a managed identity, or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)");
            case AuthenticationFailedException auth:
                return new LinuxImageException(DiagnosticCatalog.PublishAuthenticationFailed, file, where, "DefaultAzureCredential", FirstLine(auth.Message, redactor));
            case RequestFailedException failed:
                return MapRequestFailed(failed, destination, redactor, action, file);
            case HttpRequestException or SocketException:
                return new LinuxImageException(DiagnosticCatalog.PublishEndpointUnreachable, file, where, FirstLine(e.Message, redactor));
            case AggregateException aggregate when aggregate.InnerExceptions.Count > 0:
                return Map(aggregate.InnerExceptions[0], destination, redactor, action, file);
            default:
                return new LinuxImageException(DiagnosticCatalog.PublishServiceError, file, where, action, 0, e.GetType().Name + ": " + FirstLine(e.Message, redactor));
        }
    }

    private static LinuxImageException MapRequestFailed(RequestFailedException e, BlobDestination destination, SecretRedactor redactor, string action, string? file)
    {
        string where = destination.Description;
        string code = e.ErrorCode ?? string.Empty;
        if (e.Status == 0)
        {
            // Status 0: no HTTP answer at all, after the retry policy gave up.
            string reason = e.InnerException is { } inner ? FirstLine(inner.Message, redactor) : FirstLine(e.Message, redactor);
            return new LinuxImageException(DiagnosticCatalog.PublishEndpointUnreachable, file, where, reason);
        }
        if (code == "ContainerNotFound")
        {
            return new LinuxImageException(DiagnosticCatalog.PublishContainerNotFound, file, where, destination.ContainerName);
        }
        // Azure says AuthenticationFailed for a bad signature; Azurite says AuthorizationFailure with
        // Azure's "failed to authenticate" text, which a permission problem never carries.
        bool authentication = code == "AuthenticationFailed" || e.Status == 401
            || code.StartsWith("InvalidAuthenticationInfo", StringComparison.Ordinal)
            || (e.Status == 403 && e.Message.Contains("failed to authenticate", StringComparison.OrdinalIgnoreCase));
        if (authentication)
        {
            string how = destination.Credential switch
            {
                CredentialKind.Sas => "SAS",
                CredentialKind.ConnectionString => "connection string",
                _ => "DefaultAzureCredential",
            };
            string hint = destination.Credential switch
            {
                CredentialKind.Sas => "the SAS signature is wrong, expired or not yet valid",
                CredentialKind.ConnectionString => "the account key in the connection string is wrong or was rotated",
                _ => "the signed-in identity's token was refused",
            };
            return new LinuxImageException(DiagnosticCatalog.PublishAuthenticationFailed, file, where, how, $"{hint} (HTTP {e.Status} {code})");
        }
        if (e.Status == 403)
        {
            return new LinuxImageException(DiagnosticCatalog.PublishNotAuthorized, file, where, action, $"HTTP 403 {code}");
        }
        return new LinuxImageException(DiagnosticCatalog.PublishServiceError, file, where, action, e.Status,
            string.IsNullOrEmpty(code) ? FirstLine(e.Message, redactor) : code);
    }

    private static string FirstLine(string message, SecretRedactor redactor)
    {
        string first = message.Split('\n', 2)[0].Trim();
        return redactor.Redact(first.Length > 300 ? first[..300] + "..." : first);
    }
}
