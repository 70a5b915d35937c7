using System.Text;

namespace Azure.LinuxImage.Engine.FileSystems;

/// <summary>The attribute namespaces the engine writes; each file system encodes them its own way.</summary>
internal enum XattrNamespace
{
    User,
    Trusted,
    Security,
}

/// <summary>
/// Which extended attributes the writers store: user., trusted. and security. (SELinux labels live
/// in the last). system.* (POSIX ACLs, richacl) has a binary form of its own per file system and is
/// never written, so it is refused the same way on every file system.
/// </summary>
internal static class XattrNames
{
    private static readonly (string Prefix, XattrNamespace Namespace)[] Writable =
        [("user.", XattrNamespace.User), ("trusted.", XattrNamespace.Trusted), ("security.", XattrNamespace.Security)];

    /// <summary>The namespace and the name without its prefix (non-empty, at most <paramref name="maxNameBytes"/> bytes, no NUL), or null.</summary>
    public static (XattrNamespace Namespace, byte[] Name)? Split(string name, int maxNameBytes)
    {
        foreach (var (prefix, ns) in Writable)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal) && name.Length > prefix.Length)
            {
                byte[] bytes = Encoding.UTF8.GetBytes(name[prefix.Length..]);
                return bytes.Length <= maxNameBytes && !bytes.Contains((byte)0) ? (ns, bytes) : null;
            }
        }
        return null;
    }
}
