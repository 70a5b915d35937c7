using System.Text;

namespace Azure.LinuxImage.Engine.Guest.Boot;

/// <summary>
/// The edit the project asks for: parameters to add (name=value or bare flags) and names to remove
/// (any value: crashkernel=auto in the list removes crashkernel=256M too), plus parameters a given
/// kernel needs (numa=off for R6).
/// </summary>
public sealed record KernelParameterEdit(IReadOnlyList<string> Add, IReadOnlyList<string> Remove, Func<KernelVersion?, IReadOnlyList<string>>? ForKernel = null)
{
    public IReadOnlyList<string> AddFor(KernelVersion? kernel) =>
        ForKernel is null ? Add : [.. Add, .. ForKernel(kernel).Where(p => !Add.Contains(p, StringComparer.Ordinal))];

    public IEnumerable<string> RemoveNames => Remove.Select(KernelCommandLine.NameOf).Distinct(StringComparer.Ordinal);
}

/// <summary>Token-level editing of a kernel command line, keeping every other token and its order.</summary>
public static class KernelCommandLine
{
    /// <summary>Parameters the kernel honours several times (each console= adds a console).</summary>
    private static readonly HashSet<string> MultiValued = new(StringComparer.Ordinal) { "console", "rd.driver.pre", "rd.driver.blacklist", "modprobe.blacklist", "ip", "rd.luks.uuid", "rd.lvm.lv" };

    public static string NameOf(string parameter)
    {
        int eq = parameter.IndexOf('=');
        return eq < 0 ? parameter : parameter[..eq];
    }

    /// <summary>Splits on blanks outside double quotes (param="a b" stays one token).</summary>
    public static List<string> Tokenize(string commandLine)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        bool quoted = false;
        foreach (char c in commandLine)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            if (!quoted && char.IsWhiteSpace(c))
            {
                if (current.Length > 0)
                {
                    tokens.Add(current.ToString());
                    current.Clear();
                }
                continue;
            }
            current.Append(c);
        }
        if (current.Length > 0)
        {
            tokens.Add(current.ToString());
        }
        return tokens;
    }

    /// <summary>
    /// Removes the named parameters, then makes each added one present: a single-valued parameter
    /// with another value is replaced in place (the kernel takes the last one, so stray copies go),
    /// a multi-valued one is appended unless that exact value is already there.
    /// </summary>
    public static List<string> Apply(IEnumerable<string> tokens, IReadOnlyList<string> add, IEnumerable<string> removeNames)
    {
        var remove = new HashSet<string>(removeNames, StringComparer.Ordinal);
        var result = tokens.Where(t => !remove.Contains(NameOf(t))).ToList();
        foreach (string parameter in add)
        {
            string name = NameOf(parameter);
            if (MultiValued.Contains(name))
            {
                if (!result.Contains(parameter, StringComparer.Ordinal))
                {
                    result.Add(parameter);
                }
                continue;
            }
            int first = result.FindIndex(t => NameOf(t) == name);
            if (first < 0)
            {
                result.Add(parameter);
                continue;
            }
            result[first] = parameter;
            for (int i = result.Count - 1; i > first; i--)
            {
                if (NameOf(result[i]) == name)
                {
                    result.RemoveAt(i);
                }
            }
        }
        return result;
    }

    /// <summary>Drops every parameter whose name an added single-valued parameter would set (for overriding variables).</summary>
    public static List<string> WithoutConflicts(IEnumerable<string> tokens, IReadOnlyList<string> add, IEnumerable<string> removeNames)
    {
        var names = new HashSet<string>(removeNames, StringComparer.Ordinal);
        foreach (string parameter in add)
        {
            string name = NameOf(parameter);
            if (!MultiValued.Contains(name))
            {
                names.Add(name);
            }
        }
        return [.. tokens.Where(t => !names.Contains(NameOf(t)))];
    }

    /// <summary>Whether the command line has the parameter as the kernel would see it (the last value of a single-valued name).</summary>
    public static bool Has(IReadOnlyList<string> tokens, string parameter)
    {
        string name = NameOf(parameter);
        if (MultiValued.Contains(name))
        {
            return tokens.Contains(parameter, StringComparer.Ordinal);
        }
        string? last = tokens.LastOrDefault(t => NameOf(t) == name);
        return string.Equals(last, parameter, StringComparison.Ordinal);
    }

    public static string? FindByName(IReadOnlyList<string> tokens, string name) => tokens.FirstOrDefault(t => NameOf(t) == name);
}
