using System.CommandLine;
using Azure.LinuxImage.Cli.Output;
using Azure.LinuxImage.Cli.Settings;
using Azure.LinuxImage.Engine.Conversion;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks;
using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Engine.Patching;
using Azure.LinuxImage.Engine.Settings;

namespace Azure.LinuxImage.Cli.Commands;

internal static class ConvertCommand
{
    public static Command Create(CommonOptions common)
    {
        var source = new Argument<string>("source") { Description = "The source disk (VHD, VHDX, raw, qcow2, VMDK, VDI)." };
        var output = new Argument<string>("output") { Description = "The fixed VHD to write." };
        var settings = new SettingOptions(SettingStep.Convert);
        var state = new Option<string?>("--state") { Description = "Where to record the image's state for the align and patch steps." };
        var stale = new Option<string[]>("--invalidate") { Description = "Files describing the previous image, deleted before it is replaced.", AllowMultipleArgumentsPerToken = false };
        var inputs = new Option<string?>("--inputs-file") { Description = "Write every file the source consists of (image, parents, extents) to this file, one per line." };
        var patchCache = new Option<string?>("--patch-cache") { Description = "The patch step's cache folder: its slowest part (the initramfs) is done from the source disk there while the data is copied." };
        var command = new Command("convert", "Convert a disk image to a fixed VHD whose size is a whole number of MiB.") { source, output, state, stale, inputs, patchCache };
        settings.AddTo(command);
        common.AddTo(command);
        command.SetAction(result => common.Run(result, writer =>
        {
            var values = settings.Read(result, writer, result.GetValue(common.Project));
            var progress = new ProgressPrinter("converting", Console.Out);
            var format = DiskImageOpener.ParseFormatName(values.Text(SettingCatalog.SourceDiskFormat));
            var warming = result.GetValue(patchCache) is { } cacheDirectory && values.Text(SettingCatalog.ImageKind) != "DataDisk"
                ? ImagePatcher.WarmCacheInBackground(result.GetValue(source)!, format, cacheDirectory, GuestPatchOptions.From(values))
                : null;
            var conversion = FixedVhdConverter.Convert(new ConvertOptions(result.GetValue(source)!, result.GetValue(output)!)
            {
                SourceFormat = format,
                StatePath = result.GetValue(state),
                StaleFiles = result.GetValue(stale) ?? [],
                Progress = progress,
                SourceOpened = image =>
                {
                    writer.Report(image.Warnings);
                    if (writer.Errors > 0)
                    {
                        throw new ReportedFailureException();
                    }
                },
            });
            // Waited for here, not left behind, unless this process runs the next steps too: the
            // patch step reads the cache, and there waits for what is still being done.
            CommandRun.LeftWorkRunning = warming is { IsCompleted: false } && CommandRun.ServesMore;
            if (warming is not null && !CommandRun.ServesMore)
            {
                using (StepTimings.Measure("convert: waiting for the patch cache"))
                {
                    if (warming.Result is { } skipped)
                    {
                        StepTimings.Note("convert: the patch cache was not warmed: " + skipped);
                    }
                }
            }
            if (result.GetValue(inputs) is { } inputsFile)
            {
                AtomicFile.WriteAllBytes(inputsFile, System.Text.Encoding.UTF8.GetBytes(string.Join('\n', conversion.InputFiles) + "\n"));
            }
            writer.Info($"linuximage: converted {conversion.SourceFormat} disk of {conversion.SourceSize} bytes to a fixed VHD of {conversion.VirtualSize} bytes " +
                $"({Size.Format(conversion.DataBytesRead)} read, {Size.Format(conversion.DataBytesWritten)} written): {Path.GetFullPath(result.GetValue(output)!)}");
            return 0;
        }));
        return command;
    }
}
