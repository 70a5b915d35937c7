using System.Diagnostics;
using Microsoft.Build.Framework;

namespace Azure.LinuxImage.Tasks
{
    /// <summary>
    /// PublishImage: uploads the validated image to an Azure page blob. The destination and the
    /// secrets reach the tool through its environment only: ToolTask logs the command line and the
    /// response file, and would log its EnvironmentVariables parameter too, so the variables are set
    /// on the process start info directly.
    /// </summary>
    public sealed class PublishLinuxImage : LinuxImageToolTask
    {
        // The names the linuximage tool reads; kept in step with the CLI's PublishCommand.
        internal const string BlobUriVariable = "LIMG_AZURE_BLOB_URI";
        internal const string SasVariable = "LIMG_AZURE_BLOB_SAS";
        internal const string ConnectionStringVariable = "LIMG_AZURE_STORAGE_CONNECTION_STRING";

        [Required]
        public string Image { get; set; } = string.Empty;

        /// <summary>May hold a SAS in its query, so it is treated like a secret.</summary>
        public string? BlobUri { get; set; }

        public string? Sas { get; set; }

        public string? ConnectionString { get; set; }

        public bool Overwrite { get; set; }

        public string? Parallelism { get; set; }

        public string? Verify { get; set; }

        protected override string Command => "publish";

        protected override void AppendArguments(ResponseFileBuilder args)
        {
            args.Add(Image);
            // ValidateImage ran in this build (PublishImage depends on Build) and an error stopped it.
            args.Add("--skip-validation");
            if (Overwrite)
            {
                args.Add("--overwrite");
            }
            args.AddOption("--parallelism", Parallelism);
            args.AddOption("--verify", Verify);
        }

        protected override ProcessStartInfo GetProcessStartInfo(string pathToTool, string commandLineCommands, string responseFileSwitch)
        {
            var info = base.GetProcessStartInfo(pathToTool, commandLineCommands, responseFileSwitch);
            // Unset properties leave the variables the build inherited (e.g. set by a CI secret store) alone.
            SetIfGiven(info, BlobUriVariable, BlobUri);
            SetIfGiven(info, SasVariable, Sas);
            SetIfGiven(info, ConnectionStringVariable, ConnectionString);
            return info;
        }

        private static void SetIfGiven(ProcessStartInfo info, string name, string? value)
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                info.EnvironmentVariables[name] = value;
            }
        }
    }
}
