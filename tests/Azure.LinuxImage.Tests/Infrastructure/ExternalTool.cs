using System.Diagnostics;

namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>
/// Runs the real tools that judge our output (qemu-img, e2fsck, debugfs, sfdisk, ...). A missing
/// tool fails the test: under CI it must have been installed by .ci/run, and locally the message
/// says what to install. Nothing is silently skipped.
/// </summary>
public static class ExternalTool
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public string All => StdOut + StdErr;
    }

    public static string Find(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Concat(["/usr/sbin", "/sbin", "/usr/bin"]))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        Assert.Fail($"The tool '{name}' is not installed. Run scripts/install-test-deps.sh (as .ci/run does) to install it.");
        return name;
    }

    public static Result Run(string tool, IEnumerable<string> args, string? workingDirectory = null, string? stdin = null, int timeoutSeconds = 600, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(Find(tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{tool} {string.Join(' ', args)} did not finish within {timeoutSeconds} s.");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static Result RunChecked(string tool, params string[] args)
    {
        var r = Run(tool, args);
        if (r.ExitCode != 0)
        {
            Assert.Fail($"{tool} {string.Join(' ', args)} failed with exit code {r.ExitCode}:\n{r.All}");
        }
        return r;
    }
}
