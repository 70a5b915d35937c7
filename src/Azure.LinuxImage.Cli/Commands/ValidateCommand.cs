using System.CommandLine;
using Azure.LinuxImage.Engine.Validation;

namespace Azure.LinuxImage.Cli.Commands;

internal static class ValidateCommand
{
    public static Command Create(CommonOptions common)
    {
        var image = new Argument<string>("image") { Description = "The fixed VHD to validate." };
        var report = new Option<string?>("--report") { Description = "Write the JSON validation report here." };
        var command = new Command("validate", "Check an image against every requirement Azure places on it.") { image, report };
        common.AddTo(command);
        command.SetAction(result => common.Run(result, writer =>
        {
            string path = Path.GetFullPath(result.GetValue(image)!);
            var outcomes = ImageValidator.Validate(path);
            var validation = new ValidationReport(path, outcomes, common.CreateOptions(result));
            writer.Report(outcomes.Select(o => o.ToDiagnostic()).OfType<Engine.Diagnostics.Diagnostic>());
            if (result.GetValue(report) is { } reportPath)
            {
                validation.WriteJson(reportPath);
            }
            writer.Info($"linuximage: {outcomes.Count(o => o.Passed)} of {outcomes.Count} rules passed ({writer.Errors} errors, {writer.Warnings} warnings)");
            return 0;
        }));
        return command;
    }
}
