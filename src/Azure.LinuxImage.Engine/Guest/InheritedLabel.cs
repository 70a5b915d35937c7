using Azure.LinuxImage.Engine.FileSystems;

namespace Azure.LinuxImage.Engine.Guest;

/// <summary>
/// The SELinux label a node the SDK creates in the guest gets: its parent directory's
/// <c>security.selinux</c>, copied as is. That is what the guest's kernel does itself when policy has
/// no type-transition rule for the pair (the common case, and the right one for /etc → etc_t,
/// /etc/dracut.conf.d, /etc/udev/rules.d, ...). Without it a created file would be unlabeled_t on an
/// enforcing RHEL-family guest, and waagent or dracut could be denied reading it until a relabel.
/// Guests without labels (no label on the parent) are left as they are: nothing is invented.
/// </summary>
internal static class InheritedLabel
{
    public const string Attribute = "security.selinux";

    /// <summary>Gives <paramref name="created"/> the label of <paramref name="parent"/>, when that has one.</summary>
    public static void Apply(IFileSystem fs, ulong parent, ulong created)
    {
        if (fs.ReadXattrs(parent).TryGetValue(Attribute, out var label))
        {
            fs.SetXattr(created, Attribute, label);
        }
    }
}
