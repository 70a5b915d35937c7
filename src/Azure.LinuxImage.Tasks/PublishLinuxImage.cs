using System.Diagnostics;
using Microsoft.Build.Framework;

namespace Azure.LinuxImage.Tasks
{
    /// <summary>
    /// PublishImage: uploads the validated image to an Azure page blob. The destination and the
    /// secrets reach the tool through its environment only: ToolTask logs the command line and the
    /// response file, and would log its EnvironmentVariables parameter too, so the variables are set
    /// on the process start info directly. Their names come from the settings catalog, through the
    /// SDK's generated targets (Include = variable, Value = the property's value).
    /// </summary>
    public sealed class PublishLinuxImage : LinuxImageToolTask
    {
        [Required]
        public string Image { get; set; } = string.Empty;

        public ITaskItem[] SecretEnvironment { get; set; } = System.Array.Empty<ITaskItem>();

        protected override string Command => "publish";

        protected override void AppendArguments(ResponseFileBuilder args)
        {
            args.Add(Image);
            // ValidateImage ran in this build (PublishImage depends on Build) and an error stopped it.
            args.Add("--skip-validation");
        }

        /// <summary>A standby was started without the secrets.</summary>
        protected override bool TakesStandby => false;

        protected override ProcessStartInfo GetProcessStartInfo(string pathToTool, string commandLineCommands, string responseFileSwitch)
        {
            var info = base.GetProcessStartInfo(pathToTool, commandLineCommands, responseFileSwitch);
            foreach (var variable in SecretEnvironment)
            {
                // Unset properties leave the variables the build inherited (e.g. set by a CI secret store) alone.
                string value = variable.GetMetadata("Value");
                if (!string.IsNullOrWhiteSpace(value))
                {
                    info.EnvironmentVariables[variable.ItemSpec] = value;
                }
            }
            return info;
        }
    }
}
