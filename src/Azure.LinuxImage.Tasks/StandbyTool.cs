using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading;

namespace Azure.LinuxImage.Tasks
{
    /// <summary>
    /// A linuximage process started while the previous step runs (<c>linuximage --standby</c>), so
    /// that the next step does not wait for a runtime start. It is ready when the step comes, takes
    /// one response file path on standard input and runs it as <c>linuximage @path</c> would: the
    /// same output and exit code. MSBuild holds it for the build and disposes it at the end if no
    /// step took it; if MSBuild dies, its standard input ends and it exits.
    /// </summary>
    internal sealed class StandbyTool : IDisposable
    {
        public const string Switch = "--standby";

        private readonly Process process;
        private readonly ConcurrentQueue<OutputLine> lines = new ConcurrentQueue<OutputLine>();
        private readonly AutoResetEvent received = new AutoResetEvent(false);
        private int openStreams = 2;

        private StandbyTool(Process process)
        {
            this.process = process;
        }

        public static StandbyTool Start(ProcessStartInfo info)
        {
            info.RedirectStandardInput = true;
            return new StandbyTool(Process.Start(info)!);
        }

        /// <summary>
        /// Runs the response file and logs its output through <paramref name="log"/> on the calling
        /// thread (as ToolTask does). Null when the standby had already gone: the caller starts the tool
        /// itself. <paramref name="sent"/> runs once the command is on its way.
        /// </summary>
        public int? Run(string responseFile, WaitHandle canceled, Action sent, Action<string, bool> log, out bool wasCanceled)
        {
            wasCanceled = false;
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
                process.StandardInput.Close();
            }
            catch (Exception e) when (e is IOException || e is InvalidOperationException || e is ObjectDisposedException)
            {
                return null;
            }
            sent();
            process.OutputDataReceived += (_, e) => Receive(e.Data, isError: false);
            process.ErrorDataReceived += (_, e) => Receive(e.Data, isError: true);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var notifications = new[] { canceled, received };
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
                    log(next.Line, next.IsError);
                }
                if (Volatile.Read(ref openStreams) == 0)
                {
                    process.WaitForExit();
                    return process.ExitCode;
                }
            }
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

        /// <summary>An unused standby exits on end of input; one that does not within 2 s is killed.</summary>
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
