using System.CommandLine;
using Azure.LinuxImage.Engine.Validation;
using Azure.LinuxImage.Engine.Validation.Guest;

namespace Azure.LinuxImage.Cli.Commands;

internal static class ValidateCommand
{
    public static Command Create(CommonOptions common, GuestSettingsOptions guest)
    {
        var image = new Argument<string>("image") { Description = "The fixed VHD to validate." };
        var report = new Option<string?>("--report") { Description = "Write the JSON validation report here." };
        var sarif = new Option<string?>("--sarif") { Description = "Write the result as SARIF 2.1.0 here." };
        var command = new Command("validate", "Check an image against every requirement Azure places on it.") { image, report, sarif };
        guest.AddTo(command);
        common.AddTo(command);
        command.SetAction(result => common.Run(result, writer =>
        {
            var validation = ImageValidator.Validate(result.GetValue(image)!, guest.ImageKind(result),
                guest.CreateValidation(result), common.CreateOptions(result),
                result.GetValue(report), result.GetValue(sarif));
            // The options are already applied: print as they are.
            writer.ReportApplied(validation.Diagnostics);
            writer.Info($"linuximage: {validation.Outcomes.Count(o => o.Passed)} of {validation.Outcomes.Count} checks passed ({writer.Errors} errors, {writer.Warnings} warnings)");
            return 0;
        }));
        return command;
    }
}
