using System;
using System.IO;
using System.Threading;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Azure.LinuxImage.Tasks
{
    /// <summary>
    /// Takes the project's build lock (a file in the intermediate folder, opened with no sharing: an
    /// operating-system lock, released even when the build is killed) and holds it until the build
    /// ends. Visual Studio and a terminal can build one project at the same time; without the lock
    /// their steps would interleave writes to one image. The second build waits, then stops with
    /// LIMG0012.
    /// </summary>
    public sealed class LockLinuxImageBuild : Task, ICancelableTask
    {
        private volatile bool cancelled;

        [Required]
        public string LockFile { get; set; } = string.Empty;

        /// <summary>Seconds to wait for another build; 0 fails at once.</summary>
        public int TimeoutSeconds { get; set; } = 120;

        public string? ProjectFile { get; set; }

        public void Cancel() => cancelled = true;

        public override bool Execute()
        {
            string full = Path.GetFullPath(LockFile);
            string key = typeof(LockLinuxImageBuild).FullName + ":" + full;
            var engine = (IBuildEngine4)BuildEngine;
            // Build then PublishImage in one invocation, or a project built twice with other targets:
            // the lock this build already holds.
            if (engine.GetRegisteredTaskObject(key, RegisteredTaskObjectLifetime.Build) is not null)
            {
                return true;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            DateTime deadline = DateTime.UtcNow.AddSeconds(Math.Max(0, TimeoutSeconds));
            bool told = false;
            while (true)
            {
                try
                {
                    var stream = new FileStream(full, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                    // Lifetime Build: MSBuild disposes it (closing the file, releasing the lock) when
                    // this build ends, in whichever node ran the task.
                    engine.RegisterTaskObject(key, stream, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
                    return true;
                }
                catch (IOException)
                {
                    if (DateTime.UtcNow >= deadline || cancelled)
                    {
                        // Same code and text as the engine's DiagnosticCatalog.BuildInProgress (LIMG0012).
                        Log.LogError(null, "LIMG0012", "LIMG0012", ProjectFile, 0, 0, 0, 0,
                            "Another build of this project is writing the image (its lock '{0}' is held); waited {1} s. Let that build finish (Visual Studio or another dotnet build), or raise LinuxImageBuildLockTimeout. [-]",
                            full, Math.Max(0, TimeoutSeconds));
                        return false;
                    }
                    if (!told)
                    {
                        Log.LogMessage(MessageImportance.High, "linuximage: waiting for another build of this project to finish (lock '{0}', up to {1} s)", full, TimeoutSeconds);
                        told = true;
                    }
                    Thread.Sleep(250);
                }
            }
        }
    }
}
