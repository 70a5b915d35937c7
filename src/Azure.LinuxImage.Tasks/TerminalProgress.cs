using System;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace Azure.LinuxImage.Tasks
{
    /// <summary>
    /// A step's percentage on the terminal's own progress indicator (the OSC 9;4 sequence that
    /// Windows Terminal, VS Code's terminal, WezTerm, Ghostty, Konsole and ConEmu draw on the tab or
    /// taskbar), written to the build's controlling terminal.
    /// </summary>
    /// <remarks>
    /// While a task runs, MSBuild's terminal logger redraws one line per node (project, target, timer)
    /// and keeps messages until the project ends; tasks have no API to put a percentage on that line
    /// (dotnet/msbuild#6944). The logger itself sets this indicator to "busy" for the whole build, so
    /// the build's terminal is the one place a task can show how far it is, live, under either logger.
    /// Only the sequence is written (it moves no cursor and prints nothing), so the logger's drawing is
    /// left intact. Not on macOS, where the logger does not use it either (Terminal.app and older
    /// iTerm2 take OSC 9 as a notification), and never without a terminal (CI, redirected builds).
    /// </remarks>
    internal sealed class TerminalProgress : IDisposable
    {
        private const string Start = "\u001b]9;4;";
        private const string End = "\u001b\\";

        private readonly Stream? terminal;
        private int shown = -1;

        private TerminalProgress(Stream? terminal) => this.terminal = terminal;

        public static TerminalProgress ForControllingTerminal()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || Environment.GetEnvironmentVariable("LINUXIMAGE_NO_TERMINAL_PROGRESS") == "1")
            {
                return new TerminalProgress(null);
            }
            try
            {
                // Opening fails (ENXIO) when the process has no controlling terminal.
                return new TerminalProgress(new FileStream("/dev/tty", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 1));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                return new TerminalProgress(null);
            }
        }

        public bool Enabled => terminal != null;

        public void Report(int percent)
        {
            percent = Math.Max(0, Math.Min(100, percent));
            if (terminal == null || percent == shown)
            {
                return;
            }
            shown = percent;
            Write("1;" + percent.ToString(CultureInfo.InvariantCulture));
        }

        /// <summary>Takes the indicator down once the step ends, so that nothing stays "in progress" after a console-logger build.</summary>
        public void Dispose()
        {
            if (terminal == null)
            {
                return;
            }
            if (shown >= 0)
            {
                Write("0;");
            }
            terminal.Dispose();
        }

        private void Write(string state)
        {
            try
            {
                byte[] bytes = Encoding.ASCII.GetBytes(Start + state + End);
                // One write call: the terminal receives the sequence whole, never split by the logger's output.
                terminal!.Write(bytes, 0, bytes.Length);
                terminal.Flush();
            }
            catch (IOException)
            {
                // The terminal went away (hang-up); progress is a courtesy, never a reason to fail the build.
            }
        }
    }
}
