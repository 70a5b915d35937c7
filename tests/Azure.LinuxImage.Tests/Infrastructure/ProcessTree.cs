using System.Globalization;

namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>
/// Pauses and resumes a child process and all its descendants (SIGSTOP / SIGCONT), each by its id:
/// a build held still at a known point, whatever the machine's load.
/// </summary>
public static class ProcessTree
{
    public static void Stop(int rootPid) => Signal(rootPid, "STOP");

    public static void Continue(int rootPid) => Signal(rootPid, "CONT");

    private static void Signal(int rootPid, string signal)
    {
        foreach (int pid in WithDescendants(rootPid))
        {
            ExternalTool.Run("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]);
        }
    }

    private static List<int> WithDescendants(int rootPid)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
            {
                continue;
            }
            try
            {
                // /proc/PID/stat: "pid (comm) state ppid ...", comm may hold spaces and parentheses.
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                int ppid = int.Parse(rest[1], CultureInfo.InvariantCulture);
                (children.TryGetValue(ppid, out var list) ? list : children[ppid] = []).Add(pid);
            }
            catch (IOException)
            {
            }
        }
        var result = new List<int> { rootPid };
        for (int i = 0; i < result.Count; i++)
        {
            if (children.TryGetValue(result[i], out var list))
            {
                result.AddRange(list);
            }
        }
        return result;
    }
}
