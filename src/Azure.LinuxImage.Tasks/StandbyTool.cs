using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;

namespace Azure.LinuxImage.Tasks
{
    /// <summary>
    /// A linuximage process that runs build steps (<c>linuximage --standby</c>): it takes one
    /// response file path at a time on standard input and runs it as <c>linuximage @path</c> would,
    /// with the same output and exit code, then prints a marker with a token of this build's
    /// choosing and the exit code on both streams and waits for the next. A step after the first
    /// so starts neither a runtime nor compiles again the code the steps share. MSBuild holds it
    /// between steps and disposes it at the end of the build; if MSBuild dies, its standard input
    /// ends and it exits.
    /// </summary>
    internal sealed class StandbyTool : IDisposable
    {
        public const string Switch = "--standby";

        // The tool's side of the protocol: Program.ServeTokenVariable and Program.DoneMarker.
        private const string TokenVariable = "LINUXIMAGE_STANDBY_TOKEN";
        private const string DoneMarker = "linuximage-standby-done ";

        private readonly Process process;
        private readonly string token = Guid.NewGuid().ToString("N");
        private readonly ConcurrentQueue<OutputLine> lines = new ConcurrentQueue<OutputLine>();
        private readonly AutoResetEvent received = new AutoResetEvent(false);
        private int openStreams = 2;

        private StandbyTool(ProcessStartInfo info)
        {
            info.RedirectStandardInput = true;
            info.Environment[TokenVariable] = token;
            process = new Process { StartInfo = info };
            process.OutputDataReceived += (_, e) => Receive(e.Data, isError: false);
            process.ErrorDataReceived += (_, e) => Receive(e.Data, isError: true);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public static StandbyTool Start(ProcessStartInfo info) => new StandbyTool(info);

        /// <summary>
        /// Runs the response file and logs its output through <paramref name="log"/> on the calling
        /// thread (as ToolTask does). Null when the standby had already gone: the caller starts the tool
        /// itself. <paramref name="sent"/> runs once the command is on its way. <paramref name="canServeAgain"/>
        /// says whether the process finished the command and waits for another.
        /// </summary>
        public int? Run(string responseFile, WaitHandle canceled, Action sent, Action<string, bool> log, out bool wasCanceled, out bool canServeAgain)
        {
            wasCanceled = false;
            canServeAgain = false;
            try
            {
                if (process.HasExited)
                {
                    return null;
                }
                // Bytes, not StandardInput's writer: its encoding follows the console code page on Windows.
                byte[] line = new UTF8Encoding(false).GetBytes(responseFile + "\n");
                Stream input = process.StandardInput.BaseStream;
                input.Write(line, 0, line.Length);
                input.Flush();
            }
            catch (Exception e) when (e is IOException || e is InvalidOperationException || e is ObjectDisposedException)
            {
                return null;
            }
            sent();
            var notifications = new[] { canceled, received };
            int? outCode = null, errCode = null;
            // The marker follows a line break of its own: an empty line just before it on its stream is not the command's.
            var heldBlank = new OutputLine?[2];
            while (true)
            {
                if (WaitHandle.WaitAny(notifications) == 0)
                {
                    wasCanceled = true;
                    Kill();
                    return process.WaitForExit(5000) ? process.ExitCode : -1;
                }
                while (lines.TryDequeue(out var next))
                {
                    int stream = next.IsError ? 1 : 0;
                    if (IsDone(next.Line, out int code))
                    {
                        if (next.IsError)
                        {
                            errCode = code;
                        }
                        else
                        {
                            outCode = code;
                        }
                        heldBlank[stream] = null;
                        continue;
                    }
                    if (heldBlank[stream] is OutputLine blank)
                    {
                        log(blank.Line, blank.IsError);
                        heldBlank[stream] = null;
                    }
                    if (next.Line.Length == 0)
                    {
                        heldBlank[stream] = next;
                        continue;
                    }
                    log(next.Line, next.IsError);
                }
                if (outCode.HasValue && errCode.HasValue)
                {
                    // Both streams are read up to the end of the command: nothing of it can follow.
                    canServeAgain = true;
                    return outCode.Value;
                }
                if (Volatile.Read(ref openStreams) == 0)
                {
                    foreach (var blank in heldBlank)
                    {
                        if (blank is OutputLine line)
                        {
                            log(line.Line, line.IsError);
                        }
                    }
                    process.WaitForExit();
                    return process.ExitCode;
                }
            }
        }

        /// <summary>The marker the process prints after a command, with this standby's token.</summary>
        private bool IsDone(string line, out int code)
        {
            code = 0;
            string[] parts = line.Split(' ');
            return parts.Length == 3 && parts[0] + " " == DoneMarker && parts[1] == token
                && int.TryParse(parts[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out code);
        }

        private void Receive(string? data, bool isError)
        {
            if (data == null)
            {
                Interlocked.Decrement(ref openStreams);
            }
            else
            {
                lines.Enqueue(new OutputLine(data, isError));
            }
            received.Set();
        }

        private void Kill()
        {
            try
            {
#if NET
                process.Kill(entireProcessTree: true);
#else
                process.Kill();
#endif
            }
            catch (Exception e) when (e is InvalidOperationException || e is System.ComponentModel.Win32Exception)
            {
                // It exited meanwhile.
            }
        }

        /// <summary>A standby exits on end of input; one that does not within 2 s is killed.</summary>
        public void Dispose()
        {
            try
            {
                if (process.StartInfo.RedirectStandardInput)
                {
                    process.StandardInput.Close();
                }
                if (!process.WaitForExit(2000))
                {
                    Kill();
                }
            }
            catch (Exception e) when (e is IOException || e is InvalidOperationException)
            {
            }
            // Not the event: a reader thread may still signal it after a cancellation.
            process.Dispose();
        }

        /// <summary>
        /// As <see cref="Dispose"/>, but the caller goes on while the process exits (after the
        /// build's last step: its exit is no step's time). If MSBuild ends first, the process still
        /// sees the end of its input.
        /// </summary>
        public void Release() => ThreadPool.QueueUserWorkItem(_ => Dispose(), null);

        private readonly struct OutputLine
        {
            public OutputLine(string line, bool isError)
            {
                Line = line;
                IsError = isError;
            }

            public string Line { get; }

            public bool IsError { get; }
        }
    }
}
