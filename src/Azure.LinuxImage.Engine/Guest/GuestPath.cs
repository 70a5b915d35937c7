namespace Azure.LinuxImage.Engine.Guest;

/// <summary>Pure string arithmetic on absolute guest paths ('/'-separated, no host semantics).</summary>
public static class GuestPath
{
    public static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }
            if (part == "..")
            {
                // ".." at the root stays at the root, as the kernel does: a link cannot climb out.
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
                continue;
            }
            parts.Add(part);
        }
        return "/" + string.Join('/', parts);
    }

    public static string Combine(string directory, string name) =>
        name.StartsWith('/') ? Normalize(name) : Normalize(directory.TrimEnd('/') + "/" + name);

    public static string GetDirectory(string path)
    {
        string normal = Normalize(path);
        int slash = normal.LastIndexOf('/');
        return slash <= 0 ? "/" : normal[..slash];
    }

    public static string GetFileName(string path)
    {
        string normal = Normalize(path);
        return normal[(normal.LastIndexOf('/') + 1)..];
    }
}
