namespace Azure.LinuxImage.Tests.Infrastructure;

/// <summary>
/// The sample's real Debian 12 root with Debian's cloud-init and chrony installed by apt in a chroot
/// (scripts/make-cloud-init-root.sh, once per machine, as root, from Debian's mirror).
/// </summary>
public static class CloudInitRoot
{
    private static readonly Lazy<string> Made = new(Make, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Path => Made.Value;

    private static string Make()
    {
        _ = SampleDisk.RootTree;
        var r = ExternalTool.Run("bash", [RepositoryPaths.Combine("scripts", "make-cloud-init-root.sh")], RepositoryPaths.Root, timeoutSeconds: 1800);
        string root = r.StdOut.Trim().Split('\n')[^1];
        if (r.ExitCode != 0 || !Directory.Exists(root))
        {
            Assert.Fail("scripts/make-cloud-init-root.sh failed (it needs root and Debian's package mirror):\n" + r.All[^Math.Min(r.All.Length, 4000)..]);
        }
        return root;
    }
}
