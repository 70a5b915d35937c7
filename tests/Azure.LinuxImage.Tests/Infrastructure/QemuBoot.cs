using System.Diagnostics;

namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>Boots a disk under qemu-system-x86_64 (TCG) with a file as serial port, until a text appears or time runs out.</summary>
public static class QemuBoot
{
    /// <summary>Boots under OVMF (UEFI, q35) with a fresh copy of its NVRAM variables: no boot entries, as a new Azure VM.</summary>
    public static string BootUefiUntil(string disk, string format, string waitFor, TimeSpan timeout)
    {
        string vars = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "limg-ovmf-vars-" + Guid.NewGuid().ToString("N")[..8] + ".fd");
        const string code = "/usr/share/OVMF/OVMF_CODE_4M.fd";
        Assert.IsTrue(File.Exists(code), $"{code} is missing: install Debian's ovmf (scripts/install-test-deps.sh).");
        File.Copy("/usr/share/OVMF/OVMF_VARS_4M.fd", vars);
        try
        {
            return BootUntil(disk, format, waitFor, timeout,
                ["-machine", "q35", "-drive", $"if=pflash,format=raw,readonly=on,file={code}", "-drive", $"if=pflash,format=raw,file={vars}"]);
        }
        finally
        {
            File.Delete(vars);
        }
    }

    /// <summary>What R12 asks of a booted image: the kernel writes its log to ttyS0 and a login prompt follows there.</summary>
    public static void AssertKernelLogAndLoginOnTtyS0(string serial)
    {
        StringAssert.Contains(serial, "Linux version", "kernel log on ttyS0");
        StringAssert.Contains(serial, "console=ttyS0,115200n8");
        StringAssert.Contains(serial, "login:", "a login prompt on the serial console");
    }

    /// <summary>The serial text without terminal escape sequences: GRUB draws its menu with cursor moves and systemd colours unit names, both inside the lines a test looks for.</summary>
    public static string Plain(string serial) => System.Text.RegularExpressions.Regex.Replace(serial, @"\x1b\[[0-9;?]*[A-Za-z]", "");

    public static string BootUntil(string disk, string format, string waitFor, TimeSpan timeout, IEnumerable<string>? firmware = null)
    {
        string log = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "limg-serial-" + Guid.NewGuid().ToString("N")[..8] + ".log");
        var psi = new ProcessStartInfo(ExternalTool.Find("qemu-system-x86_64"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (string a in (firmware ?? []).Concat(new[] { "-nographic", "-monitor", "none", "-serial", "file:" + log, "-m", "1024", "-smp", "2", "-no-reboot", "-nic", "none",
                     "-drive", $"file={disk},format={format},snapshot=on" }))
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
