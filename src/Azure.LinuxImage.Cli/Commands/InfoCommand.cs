using System.CommandLine;
using System.Text.Json;
using Azure.LinuxImage.Cli.Output;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Engine.Settings;

namespace Azure.LinuxImage.Cli.Commands;

internal static class InfoCommand
{
    public static Command Create(CommonOptions common)
    {
        var disk = new Argument<string>("disk") { Description = "Any supported disk image." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var format = new Option<string?>(SettingCatalog.SourceDiskFormat.Option!) { Description = SettingCatalog.SourceDiskFormat.Documentation };
        var command = new Command("info", "Show what a disk image is: format, virtual size, allocated data.") { disk, json, format };
        common.AddTo(command);
        command.SetAction(result => common.Run(result, writer =>
        {
            using var image = DiskImageOpener.Open(result.GetValue(disk)!, DiskImageOpener.ParseFormatName(result.GetValue(format)));
            long allocated = image.GetAllocatedExtents().Sum(e => e.Length);
            if (result.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    path = image.Path,
                    format = image.Format.ToString(),
                    virtualSize = image.Length,
                    allocatedBytes = allocated,
                    files = image.Files,
                }, new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                writer.Info($"image: {image.Path}");
                writer.Info($"format: {image.Format}");
                writer.Info($"virtual size: {image.Length} bytes ({Size.Format(image.Length)})");
                writer.Info($"allocated: {allocated} bytes ({Size.Format(allocated)})");
                foreach (string f in image.Files.Skip(1))
                {
                    writer.Info($"backing file: {f}");
                }
            }
            writer.Report(image.Warnings);
            return 0;
        }, json));
        return command;
    }
}
