using System;
using System.ComponentModel;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Azure.LinuxImage.Tasks
{
    /// <summary>
    /// Base of every task: runs the engine's command-line tool (linuximage.dll) under the dotnet host
    /// that runs MSBuild, with its arguments in a response file. Running out of process keeps our
    /// dependencies away from MSBuild's, releases files and memory when the work ends, and lets
    /// Ctrl+C kill the work at once (ToolTask kills the process tree). The tool prints diagnostics in
    /// MSBuild's canonical form, which ToolTask turns into errors and warnings.
    /// </summary>
    public abstract class LinuxImageToolTask : ToolTask
    {
        /// <summary>Path of linuximage.dll inside the SDK package.</summary>
        [Required]
        public string ToolAssembly { get; set; } = string.Empty;

        /// <summary>The dotnet host; defaults to DOTNET_HOST_PATH (set by the .NET SDK), then dotnet on PATH.</summary>
        public string? DotNetHostPath { get; set; }

        public string? ProjectFile { get; set; }

        public string? NoWarn { get; set; }

        public string? WarningsAsErrors { get; set; }

        public string? WarningsNotAsErrors { get; set; }

        public bool TreatWarningsAsErrors { get; set; }

        /// <summary>The per-step settings files the SDK wrote (every step's: a step checks all values, so a bad one is reported early).</summary>
        public ITaskItem[] SettingsFiles { get; set; } = Array.Empty<ITaskItem>();

        /// <summary>An escape hatch: arguments appended to the tool's, one per item (LinuxImageToolArguments).</summary>
        public ITaskItem[] ExtraArguments { get; set; } = Array.Empty<ITaskItem>();

        /// <summary>The documentation address (LinuxImageHelpBaseUri): errors and warnings link to their page under it.</summary>
        public string? HelpBaseUri { get; set; }

        /// <summary>
        /// A step follows (LinuxImageStandbyProcesses): this step runs on a standby process that it
        /// then leaves to that step, which so waits for no process start and finds the code the
        /// steps share already compiled.
        /// </summary>
        public bool PrepareNextStep { get; set; }

        /// <summary>The tool's subcommand (convert, align, patch, validate).</summary>
        protected abstract string Command { get; }

        protected override string ToolName => IsWindows ? "dotnet.exe" : "dotnet";

        protected override Encoding ResponseFileEncoding => new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

        protected override MessageImportance StandardOutputLoggingImportance => MessageImportance.Normal;

        private static bool IsWindows => Path.DirectorySeparatorChar == '\\';

        protected override string GenerateFullPathToTool()
        {
            string? host = !string.IsNullOrEmpty(DotNetHostPath) ? DotNetHostPath : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(host) && File.Exists(host))
            {
                return host!;
            }
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
            {
                try
                {
                    string candidate = Path.Combine(dir.Trim('"'), ToolName);
                    if (File.Exists(candidate))
                    {
                        return candidate;
                    }
                }
                catch (ArgumentException)
                {
                }
            }
            return ToolName;
        }

        protected override bool ValidateParameters()
        {
            if (!File.Exists(ToolAssembly))
            {
                Log.LogError(null, "LIMG0010", null, ProjectFile, 0, 0, 0, 0,
                    "The linuximage tool was not found at '{0}'; the Azure.LinuxImage.Sdk package is incomplete. Restore it again.", ToolAssembly);
                return false;
            }
            return base.ValidateParameters();
        }

        /// <summary>Only the tool's path is on the command line: everything else goes in the response file.</summary>
        protected override string GenerateCommandLineCommands()
        {
            var builder = new CommandLineBuilder();
            builder.AppendFileNameIfNotNull(ToolAssembly);
            return builder.ToString();
        }

        protected override string GenerateResponseFileCommands()
        {
            var args = new ResponseFileBuilder();
            args.Add(Command);
            AppendArguments(args);
            args.AddOptions("--settings-file", SettingsFiles.Select(i => i.ItemSpec));
            args.AddOption("--project", ProjectFile);
            args.Add("--timings");
            args.AddOption("--no-warn", NoWarn);
            args.AddOption("--warnings-as-errors", WarningsAsErrors);
            args.AddOption("--warnings-not-as-errors", WarningsNotAsErrors);
            if (TreatWarningsAsErrors)
            {
                args.Add("--treat-warnings-as-errors");
            }
            foreach (var extra in ExtraArguments)
            {
                args.Add(extra.ItemSpec);
            }
            return args.ToString();
        }

        protected abstract void AppendArguments(ResponseFileBuilder args);

        /// <summary>
        /// Progress lines are shown at minimal verbosity too: long disk work should never look hung. They
        /// name the project instead of the tool: in a build of several images (-m) the console logger
        /// prints messages without their project, and lines of different images interleave.
        /// </summary>
        protected override void LogEventsFromTextOutput(string singleLine, MessageImportance messageImportance)
        {
            var canonical = CanonicalDiagnostic.Match(singleLine);
            if (canonical.Success)
            {
                // Logged here rather than by ToolTask's parser, which cannot attach a help link.
                string file = canonical.Groups["file"].Value;
                int line = canonical.Groups["line"].Success ? int.Parse(canonical.Groups["line"].Value, CultureInfo.InvariantCulture) : 0;
                int column = canonical.Groups["column"].Success ? int.Parse(canonical.Groups["column"].Value, CultureInfo.InvariantCulture) : 0;
                string code = canonical.Groups["code"].Value;
                string? help = string.IsNullOrEmpty(HelpBaseUri) ? null : HelpBaseUri!.TrimEnd('/') + "/diagnostics/" + code + ".md";
                string? origin = file == "linuximage" ? ProjectFile : file;
                if (canonical.Groups["category"].Value == "error")
                {
                    Log.LogError(null, code, code, help, origin, line, column, 0, 0, "{0}", canonical.Groups["text"].Value);
                }
                else
                {
                    Log.LogWarning(null, code, code, help, origin, line, column, 0, 0, "{0}", canonical.Groups["text"].Value);
                }
                return;
            }
            const string TimingPrefix = "linuximage-timing: ";
            if (singleLine.StartsWith(TimingPrefix, StringComparison.Ordinal))
            {
                // Where the tool's time went: for whoever measures (-v:d), not for every build's log.
                Log.LogMessage(MessageImportance.Low, "{0}: {1}", ProgressOrigin, singleLine);
                return;
            }
            const string ToolPrefix = "linuximage: ";
            if (singleLine.StartsWith(ToolPrefix, StringComparison.Ordinal))
            {
                string progress = singleLine.Substring(ToolPrefix.Length);
                Log.LogMessage(MessageImportance.High, "{0}: {1}", ProgressOrigin, progress);
                var percent = ProgressPercent.Match(progress);
                if (percent.Success)
                {
                    terminalProgress?.Report(int.Parse(percent.Groups[1].Value, CultureInfo.InvariantCulture));
                }
                return;
            }
            base.LogEventsFromTextOutput(singleLine, messageImportance);
        }

        private TerminalProgress? terminalProgress;

        private bool standbyCanceled;

        /// <summary>
        /// Runs the step on the process the step before left (or, when a step follows, on one it
        /// starts and leaves to that step), else as ToolTask does: a process of its own.
        /// </summary>
        protected override int ExecuteTool(string pathToTool, string responseFileCommands, string commandLineCommands)
        {
            if (TakesStandby && StandbysAllowed && BuildEngine is IBuildEngine4 engine)
            {
                string key = StandbyKey(pathToTool, commandLineCommands);
                var standby = engine.UnregisterTaskObject(key, RegisteredTaskObjectLifetime.Build) as StandbyTool;
                if (standby == null && PrepareNextStep)
                {
                    try
                    {
                        standby = StandbyTool.Start(GetProcessStartInfo(pathToTool, commandLineCommands, StandbyTool.Switch));
                    }
                    catch (Exception e) when (e is Win32Exception || e is IOException || e is InvalidOperationException)
                    {
                        Log.LogMessage(MessageImportance.Low, "No standby linuximage process: {0}", e.Message);
                    }
                }
                if (standby != null)
                {
                    bool kept = false, done = false;
                    try
                    {
                        int? code = RunOnStandby(standby, responseFileCommands, out bool canServeAgain);
                        if (code.HasValue)
                        {
                            // As ToolTask: errors logged by a tool that exited with 0 still fail the step.
                            bool failed = code.Value != 0 || Log.HasLoggedErrors;
                            if (canServeAgain && !failed && PrepareNextStep)
                            {
                                engine.RegisterTaskObject(key, standby, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
                                kept = true;
                            }
                            done = canServeAgain;
                            return code.Value == 0 && failed ? -1 : code.Value;
                        }
                    }
                    finally
                    {
                        if (done && !kept)
                        {
                            // It finished the command and waits: end of input ends it, without this step waiting.
                            standby.Release();
                        }
                        else if (!kept)
                        {
                            standby.Dispose();
                        }
                    }
                    Log.LogMessage(MessageImportance.Low, "The standby linuximage process had exited; starting one.");
                }
            }
            return base.ExecuteTool(pathToTool, responseFileCommands, commandLineCommands);
        }

        private int? RunOnStandby(StandbyTool standby, string responseFileCommands, out bool canServeAgain)
        {
            string responseFile = Path.Combine(Path.GetTempPath(), "linuximage-" + Guid.NewGuid().ToString("N") + ".rsp");
            try
            {
                File.WriteAllText(responseFile, ResponseFileEscape(responseFileCommands), ResponseFileEncoding);
                bool yielded = false;
                try
                {
                    return standby.Run(responseFile, ToolCanceled,
                        sent: () =>
                        {
                            ProcessStarted();
                            if (YieldDuringToolExecution)
                            {
                                BuildEngine3.Yield();
                                yielded = true;
                            }
                        },
                        log: (line, isError) => LogEventsFromTextOutput(line, isError ? StandardErrorImportanceToUse : StandardOutputImportanceToUse),
                        out standbyCanceled, out canServeAgain);
                }
                finally
                {
                    if (yielded)
                    {
                        BuildEngine3.Reacquire();
                    }
                }
            }
            finally
            {
                DeleteTempFile(responseFile);
            }
        }

        /// <summary>A cancelled build is already failing: as ToolTask, no "exited with code" error on top.</summary>
        protected override bool HandleTaskExecutionErrors() => !standbyCanceled && base.HandleTaskExecutionErrors();

        /// <summary>LINUXIMAGE_NO_STANDBY=1 turns standbys off wherever the build comes from; they cannot honour a Timeout.</summary>
        private bool StandbysAllowed =>
            Environment.GetEnvironmentVariable("LINUXIMAGE_NO_STANDBY") != "1" && Timeout == System.Threading.Timeout.Infinite;

        /// <summary>
        /// A standby serves a step that would start the same process: same host, tool, environment
        /// overrides and current directory (the projects of a build share the node's objects). This
        /// assembly's identity is in it too, as two SDK versions may build side by side.
        /// </summary>
        private string StandbyKey(string pathToTool, string commandLineCommands) => string.Join("\n",
            "linuximage standby", typeof(StandbyTool).Assembly.ManifestModule.ModuleVersionId.ToString(),
            pathToTool, commandLineCommands, Directory.GetCurrentDirectory(), string.Join(";", EnvironmentVariables ?? Array.Empty<string>()));

        /// <summary>False for a step whose process is started differently (GetProcessStartInfo overridden).</summary>
        protected virtual bool TakesStandby => true;

        public override bool Execute()
        {
            using (terminalProgress = TerminalProgress.ForControllingTerminal())
            {
                return base.Execute();
            }
        }

        /// <summary>The tool's progress lines: <c>converting 42% (...)</c>, <c>uploading 7% (...)</c>.</summary>
        private static readonly Regex ProgressPercent = new Regex(@"^[a-z ]+ (\d{1,3})% \(", RegexOptions.CultureInvariant);

        private string ProgressOrigin => string.IsNullOrEmpty(ProjectFile) ? "linuximage" : Path.GetFileNameWithoutExtension(ProjectFile);

        /// <summary>What the tool prints: <c>origin[(line,column)]: error|warning LIMGnnnn: text</c>.</summary>
        private static readonly Regex CanonicalDiagnostic = new Regex(
            @"^(?<file>.+?)(\((?<line>\d+),(?<column>\d+)\))?: (?<category>error|warning) (?<code>LIMG\d{4}): (?<text>.*)$", RegexOptions.CultureInvariant);
    }
}
