namespace Azure.LinuxImage.Engine.Diagnostics;

public static partial class DiagnosticCatalog
{
    // Publishing to Azure Blob Storage (0600–0699). Every message names the destination without its
    // query string and never carries a key, SAS or connection string.
    public static readonly DiagnosticDescriptor PublishDestinationNotSet = Define("LIMG0600", DiagnosticSeverity.Error, "R17",
        "AzureBlobUri not set", "The AzureBlobUri property is not set. Name the destination page blob, e.g. <AzureBlobUri>https://myaccount.blob.core.windows.net/vhds/MyImage.vhd</AzureBlobUri>.");

    public static readonly DiagnosticDescriptor PublishDestinationInvalid = Define("LIMG0601", DiagnosticSeverity.Error, "R17",
        "Invalid AzureBlobUri", "AzureBlobUri '{0}' does not name a blob: {1}");

    public static readonly DiagnosticDescriptor PublishCredentialsInvalid = Define("LIMG0602", DiagnosticSeverity.Error, "R17",
        "Invalid storage credentials", "The storage credentials cannot be used: {0}");

    public static readonly DiagnosticDescriptor PublishAuthenticationFailed = Define("LIMG0603", DiagnosticSeverity.Error, "R17",
        "Storage authentication failed", "Azure Storage rejected the credentials for '{0}' ({1}): {2}");

    public static readonly DiagnosticDescriptor PublishNotAuthorized = Define("LIMG0604", DiagnosticSeverity.Error, "R17",
        "Not authorised to write the blob", "The credentials for '{0}' are valid but not allowed to {1} ({2}). A SAS needs read, create and write permission on the blob; an identity needs the 'Storage Blob Data Contributor' role.");

    public static readonly DiagnosticDescriptor PublishEndpointUnreachable = Define("LIMG0605", DiagnosticSeverity.Error, "R17",
        "Storage endpoint unreachable", "The storage endpoint of '{0}' cannot be reached ({1}). Check the account name and the network; an interrupted upload resumes on the next publish.");

    public static readonly DiagnosticDescriptor PublishContainerNotFound = Define("LIMG0606", DiagnosticSeverity.Error, "R17",
        "Container not found", "The container '{1}' of '{0}' does not exist; create it first (az storage container create --name {1}).");

    public static readonly DiagnosticDescriptor PublishBlobExists = Define("LIMG0607", DiagnosticSeverity.Error, "R17",
        "Blob exists with other content", "The blob '{0}' already exists and {1}. Set AzureBlobOverwrite=true (--overwrite) to replace it.");

    public static readonly DiagnosticDescriptor PublishServiceError = Define("LIMG0608", DiagnosticSeverity.Error, "R17",
        "Storage service error", "Azure Storage failed to {1} '{0}': HTTP {2} {3}. An interrupted upload resumes on the next publish.");

    public static readonly DiagnosticDescriptor PublishImageNotFixedVhd = Define("LIMG0609", DiagnosticSeverity.Error, "R1",
        "Not a fixed VHD", "'{0}' cannot be published as an Azure page blob: {1}");

    public static readonly DiagnosticDescriptor PublishInterrupted = Define("LIMG0610", DiagnosticSeverity.Error, "R17",
        "Upload interrupted", "The upload to '{0}' was interrupted after {1} of {2} bytes of data; publish again to resume where it stopped.");

    public static readonly DiagnosticDescriptor PublishVerificationFailed = Define("LIMG0611", DiagnosticSeverity.Error, "R17",
        "Uploaded blob differs from the image", "The blob '{0}' does not match the image after upload: {1}. Publish again with AzureBlobOverwrite=true.");

    public static readonly DiagnosticDescriptor PublishBlobUpToDate = Define("LIMG0612", DiagnosticSeverity.Info, "R17",
        "Blob up to date", "The blob '{0}' already holds this image ({1} bytes, Content-MD5 {2}); nothing was uploaded.");

    public static readonly DiagnosticDescriptor PublishImageChanged = Define("LIMG0613", DiagnosticSeverity.Error, "R17",
        "Image changed during upload", "'{0}' changed while it was being uploaded; build it again, then publish.");
}
