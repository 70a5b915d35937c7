using System.CommandLine;
using System.Text.Json;
using Azure.LinuxImage.Cli.Output;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Cli.Commands;

/// <summary>Options every command takes: the project to blame in diagnostics and MSBuild's warning controls.</summary>
internal sealed class CommonOptions
{
    public Option<string?> Project { get; } = new("--project") { Description = "The .imgproj that diagnostics without a file of their own point to." };

    public Option<string?> NoWarn { get; } = new("--no-warn") { Description = "Warning codes to suppress (';'-separated), as MSBuild's NoWarn." };

    public Option<string?> WarningsAsErrors { get; } = new("--warnings-as-errors") { Description = "Warning codes to report as errors." };

    public Option<string?> WarningsNotAsErrors { get; } = new("--warnings-not-as-errors") { Description = "Warning codes kept as warnings under --treat-warnings-as-errors." };

    public Option<bool> TreatWarningsAsErrors { get; } = new("--treat-warnings-as-errors") { Description = "Report every warning as an error." };

    public Option<bool> Timings { get; } = new("--timings") { Description = "Print where the run's time and memory went (timed phases, peak RSS, run-time compilation) on standard error; the SDK passes it and shows them at -v:d." };

    public void AddTo(Command command)
    {
        command.Options.Add(Timings);
        command.Options.Add(Project);
        command.Options.Add(NoWarn);
        command.Options.Add(WarningsAsErrors);
        command.Options.Add(WarningsNotAsErrors);
        command.Options.Add(TreatWarningsAsErrors);
    }

    public DiagnosticWriter CreateWriter(ParseResult result) =>
        new(CreateOptions(result), result.GetValue(Project), Console.Out, Console.Error);

    public DiagnosticOptions CreateOptions(ParseResult result)
    {
        var options = new DiagnosticOptions { TreatWarningsAsErrors = result.GetValue(TreatWarningsAsErrors) };
        options.NoWarn.UnionWith(DiagnosticOptions.SplitCodes(result.GetValue(NoWarn)));
        options.WarningsAsErrors.UnionWith(DiagnosticOptions.SplitCodes(result.GetValue(WarningsAsErrors)));
        options.WarningsNotAsErrors.UnionWith(DiagnosticOptions.SplitCodes(result.GetValue(WarningsNotAsErrors)));
        return options;
    }

    /// <summary>
    /// Runs a command body: product failures become their diagnostic, anything else an internal
    /// error with the details on standard error (never a bare stack trace as the only output).
    /// With <paramref name="json"/> set, a failure is also a JSON document on standard output, where
    /// the success result would have been, so a script that parses the output always gets JSON.
    /// </summary>
    public int Run(ParseResult result, Func<DiagnosticWriter, int> body, Option<bool>? json = null)
    {
        var writer = CreateWriter(result);
        int code;
        try
        {
            code = Math.Max(body(writer), writer.ExitCode);
        }
        catch (ReportedFailureException)
        {
            code = Math.Max(ExitCodes.Rejected, writer.ExitCode);
        }
        catch (LinuxImageException e)
        {
            writer.Report(e.ToDiagnostic());
            code = writer.ExitCode;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("linuximage: cancelled");
            return ExitCodes.Cancelled;
        }
        catch (IOException e) when (DiskFull.Is(e))
        {
            // A full volume outside conversion (patch journal, state, reports): still the user's to fix.
            writer.Report(DiskFull.Exception(result.GetValue(Project) ?? "output", null, e).ToDiagnostic());
            code = writer.ExitCode;
        }
        catch (Exception e)
        {
            writer.Report(Diagnostic.Create(DiagnosticCatalog.InternalError, null, e.GetType().Name, e.Message));
            Console.Error.WriteLine(e);
            code = ExitCodes.Internal;
        }
        if (result.GetValue(Timings))
        {
            WriteTimings();
        }
        if (code != ExitCodes.Success && json is not null && result.GetValue(json))
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(new
            {
                exitCode = code,
                diagnostics = writer.Reported.Select(d => new
                {
                    code = d.Code,
                    severity = d.Severity.ToString().ToLowerInvariant(),
                    message = d.Message,
                    file = d.File,
                    requirement = d.Descriptor.Requirement,
                }),
            }, new JsonSerializerOptions { WriteIndented = true }));
        }
        return code;
    }

    /// <summary>The prefix of timing lines: the SDK logs them at detailed verbosity only (-v:d).</summary>
    public const string TimingPrefix = "linuximage-timing: ";

    /// <summary>
    /// Where this run's time and memory went, on standard error (standard output stays the result,
    /// for --json): each timed phase, then the process's total time, peak resident memory and GC heap.
    /// </summary>
    private static void WriteTimings()
    {
        foreach (var (phase, elapsed) in StepTimings.Completed)
        {
            Console.Error.WriteLine(FormattableString.Invariant($"{TimingPrefix}{phase}: {elapsed.TotalMilliseconds:F0} ms"));
        }
        foreach (string note in StepTimings.Noted)
        {
            Console.Error.WriteLine(TimingPrefix + note);
        }
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        var total = DateTime.Now - CommandRun.Started;
        // A standby's later commands: their own time; the peak and compilation figures are the process's so far.
        string served = CommandRun.Before > 0 ? FormattableString.Invariant($" (command {CommandRun.Before + 1} of this process)") : string.Empty;
        Console.Error.WriteLine(FormattableString.Invariant(
            $"{TimingPrefix}process{served}: {total.TotalMilliseconds:F0} ms, peak RSS {self.PeakWorkingSet64 >> 20} MiB, GC heap peak committed {GC.GetGCMemoryInfo(GCKind.Any).TotalCommittedBytes >> 20} MiB, {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} collections, {System.Runtime.JitInfo.GetCompiledMethodCount()} methods compiled at run time in {System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:F0} ms"));
    }
}

/// <summary>Stops a command whose failure has already been reported as diagnostics.</summary>
internal sealed class ReportedFailureException : Exception
{
}
