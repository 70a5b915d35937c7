using System.Diagnostics;

namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>Runs the dotnet CLI as a child process, the way a user or CI would, and collects what it prints.</summary>
public static class DotNet
{
    public sealed record Result(int ExitCode, string Output)
    {
        /// <summary>The lines a failed build's assertion should show: the LIMG diagnostics and the tool's own.</summary>
        public string Diagnostics =>
            string.Join('\n', Output.Split('\n').Where(l => l.Contains("LIMG", StringComparison.Ordinal) || l.Contains("linuximage:", StringComparison.Ordinal)));
    }

    public static Result Run(string workingDirectory, params string[] args) => Run(workingDirectory, null, null, null, args);

    public static Result Run(string workingDirectory, Action<Process>? started, params string[] args) => Run(workingDirectory, null, null, started, args);

    /// <param name="environment">Variables set for the child only (secrets in publishing tests).</param>
    /// <param name="killWhen">Kills the child's process tree when a line it prints matches (an interrupted run).</param>
    /// <param name="started">Called once the child runs, on the test's thread (e.g. to watch files and kill it).</param>
    public static Result Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment, Func<string, bool>? killWhen, Action<Process>? started, string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["MSBUILDTERMINALLOGGER"] = "off";
        // The test host's own MSBuild settings must not leak into the child build.
        psi.Environment.Remove("MSBuildExtensionsPath");
        psi.Environment.Remove("MSBuildSDKsPath");
        psi.Environment.Remove("MSBUILD_EXE_PATH");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }
        using var process = Process.Start(psi)!;
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            lock (output)
            {
                output.AppendLine(e.Data);
            }
            if (killWhen?.Invoke(e.Data) == true)
            {
                process.Kill(entireProcessTree: true);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        started?.Invoke(process);
        if (!process.WaitForExit(15 * 60 * 1000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("dotnet " + string.Join(' ', args) + " did not finish in 15 minutes.");
        }
        process.WaitForExit();
        lock (output)
        {
            return new Result(process.ExitCode, output.ToString());
        }
    }
}
