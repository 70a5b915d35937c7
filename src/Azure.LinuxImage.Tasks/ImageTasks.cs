using System.Linq;
using Microsoft.Build.Framework;

namespace Azure.LinuxImage.Tasks
{
    /// <summary>ConvertImage: source disk of any format → fixed VHD.</summary>
    public sealed class ConvertLinuxImage : LinuxImageToolTask
    {
        [Required]
        public string SourceDisk { get; set; } = string.Empty;

        [Required]
        public string OutputImage { get; set; } = string.Empty;

        public string? SourceDiskFormat { get; set; }

        public string? StateFile { get; set; }

        public string? InputsFile { get; set; }

        public ITaskItem[] InvalidateFiles { get; set; } = System.Array.Empty<ITaskItem>();

        protected override string Command => "convert";

        protected override void AppendArguments(ResponseFileBuilder args)
        {
            args.Add(SourceDisk);
            args.Add(OutputImage);
            args.AddOption("--source-format", SourceDiskFormat);
            args.AddOption("--state", StateFile);
            args.AddOption("--inputs-file", InputsFile);
            args.AddOptions("--invalidate", InvalidateFiles.Select(i => i.ItemSpec));
        }
    }

    /// <summary>AlignImage: the final whole-MiB size, in place.</summary>
    public sealed class AlignLinuxImage : LinuxImageToolTask
    {
        [Required]
        public string Image { get; set; } = string.Empty;

        [Required]
        public string StateFile { get; set; } = string.Empty;

        public string? ImageSizeMiB { get; set; }

        protected override string Command => "align";

        protected override void AppendArguments(ResponseFileBuilder args)
        {
            args.Add(Image);
            args.AddOption("--state", StateFile);
            args.AddOption("--image-size-mib", ImageSizeMiB);
        }
    }

    /// <summary>The project's guest settings, which patch applies and validate checks against.</summary>
    public abstract class GuestSettingsTask : LinuxImageToolTask
    {
        [Required]
        public string Image { get; set; } = string.Empty;

        public ITaskItem[] KernelParameters { get; set; } = System.Array.Empty<ITaskItem>();

        public ITaskItem[] RemoveKernelParameters { get; set; } = System.Array.Empty<ITaskItem>();

        /// <summary>Include = key, metadata Value = value.</summary>
        public ITaskItem[] WaagentSettings { get; set; } = System.Array.Empty<ITaskItem>();

        public bool Deprovision { get; set; }

        public string? DeprovisionUser { get; set; }

        public string? AzureDiskController { get; set; }

        public string? ImageKind { get; set; }

        /// <summary>V1, V2 or empty (detect).</summary>
        public string? HyperVGeneration { get; set; }

        /// <summary>Standard or TrustedLaunch.</summary>
        public string? AzureSecurityType { get; set; }

        protected override void AppendArguments(ResponseFileBuilder args)
        {
            args.Add(Image);
            args.AddOption("--hyperv-generation", HyperVGeneration);
            args.AddOption("--security-type", AzureSecurityType);
            args.AddOptions("--kernel-parameter", KernelParameters.Select(i => i.ItemSpec));
            args.AddOptions("--remove-kernel-parameter", RemoveKernelParameters.Select(i => i.ItemSpec));
            args.AddOptions("--waagent-setting", WaagentSettings.Select(i => i.ItemSpec + "=" + i.GetMetadata("Value")));
            if (Deprovision)
            {
                args.Add("--deprovision");
            }
            args.AddOption("--deprovision-user", DeprovisionUser);
            args.AddOption("--disk-controller", AzureDiskController);
            args.AddOption("--image-kind", ImageKind);
        }
    }

    /// <summary>PatchImage: offline guest configuration, only changed bytes written.</summary>
    public sealed class PatchLinuxImage : GuestSettingsTask
    {
        [Required]
        public string Journal { get; set; } = string.Empty;

        protected override string Command => "patch";

        protected override void AppendArguments(ResponseFileBuilder args)
        {
            base.AppendArguments(args);
            args.AddOption("--journal", Journal);
        }
    }

    /// <summary>ValidateImage: every rule; a JSON report and SARIF beside the image.</summary>
    public sealed class ValidateLinuxImage : GuestSettingsTask
    {
        public string? ReportFile { get; set; }

        public string? SarifFile { get; set; }

        protected override string Command => "validate";

        protected override void AppendArguments(ResponseFileBuilder args)
        {
            base.AppendArguments(args);
            args.AddOption("--report", ReportFile);
            args.AddOption("--sarif", SarifFile);
        }
    }
}
