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

        public string? StateFile { get; set; }

        public string? InputsFile { get; set; }

        public ITaskItem[] InvalidateFiles { get; set; } = System.Array.Empty<ITaskItem>();

        /// <summary>The patch step's cache folder, which the conversion warms from the source disk while it copies.</summary>
        public string? PatchCacheDirectory { get; set; }

        protected override string Command => "convert";

        protected override void AppendArguments(ResponseFileBuilder args)
        {
            args.Add(SourceDisk);
            args.Add(OutputImage);
            args.AddOption("--state", StateFile);
            args.AddOption("--inputs-file", InputsFile);
            args.AddOptions("--invalidate", InvalidateFiles.Select(i => i.ItemSpec));
            args.AddOption("--patch-cache", PatchCacheDirectory);
        }
    }

    /// <summary>AlignImage: the final whole-MiB size, in place.</summary>
    public sealed class AlignLinuxImage : LinuxImageToolTask
    {
        [Required]
        public string Image { get; set; } = string.Empty;

        [Required]
        public string StateFile { get; set; } = string.Empty;

        protected override string Command => "align";

        protected override void AppendArguments(ResponseFileBuilder args)
        {
            args.Add(Image);
            args.AddOption("--state", StateFile);
        }
    }

    /// <summary>PatchImage: offline guest configuration, only changed bytes written.</summary>
    public sealed class PatchLinuxImage : LinuxImageToolTask
    {
        [Required]
        public string Image { get; set; } = string.Empty;

        [Required]
        public string Journal { get; set; } = string.Empty;

        protected override string Command => "patch";

        protected override void AppendArguments(ResponseFileBuilder args)
        {
            args.Add(Image);
            args.AddOption("--journal", Journal);
        }
    }

    /// <summary>ValidateImage: every rule; a JSON report and SARIF beside the image.</summary>
    public sealed class ValidateLinuxImage : LinuxImageToolTask
    {
        [Required]
        public string Image { get; set; } = string.Empty;

        public string? ReportFile { get; set; }

        public string? SarifFile { get; set; }

        /// <summary>Where the patch step keeps what it learned of the guest (the intermediate folder's patch-cache).</summary>
        public string? CacheDirectory { get; set; }

        protected override string Command => "validate";

        protected override void AppendArguments(ResponseFileBuilder args)
        {
            args.Add(Image);
            args.AddOption("--report", ReportFile);
            args.AddOption("--sarif", SarifFile);
            args.AddOption("--cache-dir", CacheDirectory);
        }
    }
}
