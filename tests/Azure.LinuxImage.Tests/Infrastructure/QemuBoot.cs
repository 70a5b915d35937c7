using System.Diagnostics;

namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>Boots a disk under qemu-system-x86_64 (TCG) with a file as serial port, until a text appears or time runs out.</summary>
public static class QemuBoot
{
    public static string BootUntil(string disk, string format, string waitFor, TimeSpan timeout)
    {
        string log = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "limg-serial-" + Guid.NewGuid().ToString("N")[..8] + ".log");
        var psi = new ProcessStartInfo(ExternalTool.Find("qemu-system-x86_64"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (string a in new[] { "-nographic", "-monitor", "none", "-serial", "file:" + log, "-m", "1024", "-smp", "2", "-no-reboot", "-nic", "none",
                     "-drive", $"file={disk},format={format},snapshot=on" })
        {
            psi.ArgumentList.Add(a);
        }
        using var qemu = Process.Start(psi)!;
        qemu.StandardOutput.ReadToEndAsync();
        qemu.StandardError.ReadToEndAsync();
        var watch = Stopwatch.StartNew();
        string text = string.Empty;
        try
        {
            while (watch.Elapsed < timeout && !qemu.HasExited)
            {
                Thread.Sleep(1000);
                text = File.Exists(log) ? File.ReadAllText(log) : string.Empty;
                if (text.Contains(waitFor, StringComparison.Ordinal))
                {
                    break;
                }
            }
        }
        finally
        {
            if (!qemu.HasExited)
            {
                qemu.Kill(entireProcessTree: true);
            }
            qemu.WaitForExit();
            text = File.Exists(log) ? File.ReadAllText(log) : text;
            File.Delete(log);
        }
        return text;
    }
}
