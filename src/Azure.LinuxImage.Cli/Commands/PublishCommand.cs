using System.CommandLine;
using Azure.LinuxImage.Cli.Output;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Validation;
using Azure.LinuxImage.Engine.Validation.Guest;
using Azure.LinuxImage.Publishing;

namespace Azure.LinuxImage.Cli.Commands;

/// <summary>
/// Uploads a built image to an Azure page blob. Secrets are read only from the environment, so they
/// are never on a command line, in a response file or in MSBuild's log of task arguments.
/// </summary>
internal static class PublishCommand
{
    public const string BlobUriVariable = "LIMG_AZURE_BLOB_URI";
    public const string SasVariable = "LIMG_AZURE_BLOB_SAS";
    public const string ConnectionStringVariable = "LIMG_AZURE_STORAGE_CONNECTION_STRING";

    public static Command Create(CommonOptions common, GuestSettingsOptions guest)
    {
        var image = new Argument<string>("image") { Description = "The fixed VHD to upload (the build's output)." };
        var blobUri = new Option<string?>("--blob-uri")
        {
            Description = $"The destination page blob (default: ${BlobUriVariable}). A SAS is taken from ${SasVariable} or the URI, a connection string from ${ConnectionStringVariable}, otherwise DefaultAzureCredential.",
        };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing blob that holds other content." };
        var parallelism = new Option<int>("--parallelism") { Description = "Page writes in flight at once.", DefaultValueFactory = _ => 8 };
        var verify = new Option<VerifyMode>("--verify") { Description = "After upload, compare page ranges and read back a sample of ranges (Sample), all of them (Full) or none (PageRanges).", DefaultValueFactory = _ => VerifyMode.Sample };
        var skipValidation = new Option<bool>("--skip-validation") { Description = "Do not validate the image first (the SDK's PublishImage target has just validated it)." };
        var command = new Command("publish", "Upload the image to Azure Blob Storage as a page blob: only its data, resumable, verified.")
        {
            image, blobUri, overwrite, parallelism, verify, skipValidation,
        };
        // The guest settings only matter to the validation that precedes the upload.
        guest.AddTo(command);
        common.AddTo(command);
        command.SetAction((result, cancellationToken) => Task.FromResult(common.Run(result, writer =>
        {
            string path = Path.GetFullPath(result.GetValue(image)!);
            if (!result.GetValue(skipValidation))
            {
                // An image that fails validation is never uploaded: Azure would accept it and the VM would not boot.
                var validation = ImageValidator.Validate(path, guest.ImageKind(result), guest.CreateValidation(result), common.CreateOptions(result));
                writer.ReportApplied(validation.Diagnostics);
                if (writer.Errors > 0)
                {
                    writer.Info($"linuximage: not publishing '{path}': it has {writer.Errors} validation errors");
                    return 1;
                }
            }
            var options = new PublishOptions
            {
                BlobUri = result.GetValue(blobUri) ?? Environment.GetEnvironmentVariable(BlobUriVariable),
                Sas = Environment.GetEnvironmentVariable(SasVariable),
                ConnectionString = Environment.GetEnvironmentVariable(ConnectionStringVariable),
                Overwrite = result.GetValue(overwrite),
                Parallelism = result.GetValue(parallelism),
                Verify = result.GetValue(verify),
            };
            var publisher = new PageBlobPublisher(options);
            var printer = new PublishProgressPrinter(Console.Out);
            try
            {
                var published = publisher.PublishAsync(path, printer, cancellationToken).GetAwaiter().GetResult();
                if (published.Outcome == PublishOutcome.UpToDate)
                {
                    writer.Report(Diagnostic.Create(DiagnosticCatalog.PublishBlobUpToDate, path, published.Destination, published.ImageLength, published.ContentMd5));
                }
                writer.Info("linuximage: " + publisher.Redactor.Redact(published.Summary()));
                return 0;
            }
            catch (LinuxImageException e)
            {
                // Already redacted by the publisher; redacted again in case a message was built elsewhere.
                writer.Report(e.ToDiagnostic() with { Message = publisher.Redactor.Redact(e.Message) });
                return 1;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Never Console.Error.WriteLine(e) here: an SDK exception's text can carry request details.
                writer.Report(Diagnostic.Create(DiagnosticCatalog.InternalError, path, e.GetType().Name, publisher.Redactor.Redact(e.Message)));
                return 1;
            }
        })));
        return command;
    }
}

/// <summary>One line per report (the publisher reports at most once a second): bytes, rate and time left.</summary>
internal sealed class PublishProgressPrinter(TextWriter output) : IProgress<PublishProgress>
{
    public void Report(PublishProgress value)
    {
        string verb = value.Phase switch
        {
            PublishPhase.Scanning => "scanning",
            PublishPhase.Uploading => "uploading",
            _ => "verifying",
        };
        string rate = value.BytesPerSecond > 0 ? $", {Size.Format((long)value.BytesPerSecond)}/s" : string.Empty;
        string left = value.Remaining is { } r && value.BytesDone < value.BytesTotal ? $", about {FormatTime(r)} left" : string.Empty;
        output.WriteLine($"linuximage: {verb} {value.Percent:0}% ({Size.Format(value.BytesDone)} of {Size.Format(value.BytesTotal)}{rate}{left})");
    }

    private static string FormatTime(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours} h {t.Minutes} min" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes} min {t.Seconds} s" : $"{Math.Ceiling(t.TotalSeconds)} s";
}
