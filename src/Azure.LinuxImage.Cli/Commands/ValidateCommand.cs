using System.CommandLine;
using Azure.LinuxImage.Cli.Settings;
using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Engine.Settings;
using Azure.LinuxImage.Engine.Validation;
using Azure.LinuxImage.Engine.Validation.Guest;

namespace Azure.LinuxImage.Cli.Commands;

internal static class ValidateCommand
{
    public static Command Create(CommonOptions common)
    {
        var image = new Argument<string>("image") { Description = "The fixed VHD to validate." };
        var report = new Option<string?>("--report") { Description = "Write the JSON validation report here." };
        var sarif = new Option<string?>("--sarif") { Description = "Write the result as SARIF 2.1.0 here." };
        var cache = new Option<string?>("--cache-dir") { Description = "The folder where the patch step keeps what it learned of the guest (initramfs module lists, by the initramfs's hash): what it lists is not decompressed again." };
        var settings = new SettingOptions(SettingStep.Patch, SettingStep.Validate);
        var command = new Command("validate", "Check an image against every requirement Azure places on it, with the SDK's defaults unless told otherwise.") { image, report, sarif, cache };
        settings.AddTo(command);
        common.AddTo(command);
        command.SetAction(result => common.Run(result, writer =>
        {
            var values = settings.Read(result, writer, result.GetValue(common.Project));
            writer.Info(values.Text(SettingCatalog.ImageKind) == "DataDisk"
                ? "linuximage: validating the disk"
                : "linuximage: validating the disk and the guest");
            var validation = Validate(result.GetValue(image)!, values, common.CreateOptions(result), result.GetValue(report), result.GetValue(sarif), result.GetValue(cache));
            // The options are already applied: print as they are.
            writer.ReportApplied(validation.Diagnostics);
            writer.Info($"linuximage: {validation.Outcomes.Count(o => o.Passed)} of {validation.Outcomes.Count} checks passed ({writer.Errors} errors, {writer.Warnings} warnings)");
            return 0;
        }));
        return command;
    }

    /// <summary>The validation every command runs (validate, and publish before it uploads).</summary>
    public static ImageValidationResult Validate(string image, ImageSettings values, Engine.Diagnostics.DiagnosticOptions options, string? report = null, string? sarif = null, string? cacheDirectory = null) =>
        ImageValidator.Validate(image, values.Text(SettingCatalog.ImageKind) == "DataDisk" ? ImageKind.DataDisk : ImageKind.OsDisk,
            GuestValidationOptions.From(values) with { CacheDirectory = cacheDirectory }, options, report, sarif, docsBaseUri: values.Text(SettingCatalog.HelpBaseUri));
}
