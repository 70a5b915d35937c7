using Azure.LinuxImage.Engine.Patching;
using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Patching;

/// <summary>
/// The convert step extends the initramfs from the source disk while it copies (--patch-cache), so
/// the patch step of a first build finds it done. Judged on a real ext4 guest disk: the patch takes
/// the cached path, and the image equals one patched without the head start (qemu-img compare).
/// </summary>
[TestClass]
public sealed class PatchCacheWarmupTests
{
    private const string Parse = "linuximage-timing: patch: initramfs parse:";
    // Guest file times are the build's time unless SOURCE_DATE_EPOCH says otherwise.
    private static readonly Dictionary<string, string> Reproducible = new() { ["SOURCE_DATE_EPOCH"] = "1767225600" };

    private const string CacheKey = "linuximage-timing: patch: initramfs cache key:";

    [TestMethod]
    public void A_converted_image_is_patched_from_the_warmed_cache_and_equals_a_cold_patch()
    {
        using var dir = new TempDir("warmup");
        string source = SmallGuestDisk.Create(dir["guest.raw"]);
        Directory.CreateDirectory(dir["warm"]);
        Directory.CreateDirectory(dir["cold"]);

        var convert = LinuxImageTool.Run("convert", source, dir["warm/image.vhd"], "--patch-cache", dir["warm/patch-cache"], "--timings");
        Assert.AreEqual(0, convert.ExitCode, convert.All);
        var warmPatch = LinuxImageTool.RunWith(Reproducible, "patch", dir["warm/image.vhd"], "--journal", dir["warm/image.patch.journal"], "--timings");
        Assert.AreEqual(0, warmPatch.ExitCode, warmPatch.All);

        ColdPatch(dir, source);
        StringAssert.Contains(warmPatch.StdErr, CacheKey);
        if (Environment.ProcessorCount >= 2)
        {
            Assert.IsFalse(warmPatch.StdErr.Contains(Parse, StringComparison.Ordinal), "the warmed patch found its initramfs result: " + warmPatch.StdErr);
        }
        else
        {
            // One core: the conversion keeps it, and the patch does the work as before.
            StringAssert.Contains(convert.StdErr, "the patch cache was not warmed");
            StringAssert.Contains(warmPatch.StdErr, Parse);
        }
        DiskFixtures.AssertSameData(dir["cold/image.vhd"], "vpc", dir["warm/image.vhd"]);
        // The patch really added the drivers (the comparison alone would also pass if neither did).
        StringAssert.Contains(warmPatch.StdOut, "hv_vmbus");
    }

    /// <summary>The same source converted and patched without a head start, into cold/image.vhd.</summary>
    private static void ColdPatch(TempDir dir, string source)
    {
        Assert.AreEqual(0, LinuxImageTool.Run("convert", source, dir["cold/image.vhd"]).ExitCode);
        var coldPatch = LinuxImageTool.RunWith(Reproducible, "patch", dir["cold/image.vhd"], "--journal", dir["cold/image.patch.journal"], "--timings");
        Assert.AreEqual(0, coldPatch.ExitCode, coldPatch.All);
        StringAssert.Contains(coldPatch.StdErr, Parse, "without a head start the patch reads the initramfs itself");
    }

    [TestMethod]
    public void On_a_standby_the_conversion_leaves_the_warm_up_running_and_the_patch_waits_for_it()
    {
        using var dir = new TempDir("warmup");
        string source = SmallGuestDisk.Create(dir["guest.raw"]);
        Directory.CreateDirectory(dir["warm"]);
        Directory.CreateDirectory(dir["cold"]);
        File.WriteAllLines(dir["convert.rsp"], ["convert", source, dir["warm/image.vhd"], "--patch-cache", dir["warm/patch-cache"], "--timings"]);
        File.WriteAllLines(dir["patch.rsp"], ["patch", dir["warm/image.vhd"], "--journal", dir["warm/image.patch.journal"], "--timings"]);
        const string Token = "feedc0de";

        // As the SDK runs a build's steps: one process, the next command as soon as the first ends.
        var served = ExternalTool.Run("dotnet", [LinuxImageTool.Assembly, "--standby"], stdin: dir["convert.rsp"] + "\n" + dir["patch.rsp"] + "\n",
            timeoutSeconds: 600, environment: new Dictionary<string, string>(Reproducible) { ["LINUXIMAGE_STANDBY_TOKEN"] = Token });

        Assert.AreEqual(0, served.ExitCode, served.All);
        string[] commands = served.StdErr.Split($"linuximage-standby-done {Token} ");
        Assert.HasCount(3, commands, served.StdErr);
        StringAssert.StartsWith(commands[1], "0\n", "the conversion succeeded");
        StringAssert.StartsWith(commands[2], "0\n", "the patch succeeded");
        Assert.IsFalse(commands[0].Contains("convert: waiting for the patch cache", StringComparison.Ordinal), "the conversion ended without waiting: " + commands[0]);
        if (Environment.ProcessorCount >= 2)
        {
            StringAssert.Contains(commands[1], "linuximage-timing: patch: waiting for the warm-up of the patch cache:");
            Assert.IsFalse(commands[1].Contains(Parse, StringComparison.Ordinal), "the patch found the warm-up's result: " + commands[1]);
        }
        ColdPatch(dir, source);
        DiskFixtures.AssertSameData(dir["cold/image.vhd"], "vpc", dir["warm/image.vhd"]);
        StringAssert.Contains(served.StdOut, "hv_vmbus");
    }

    [TestMethod]
    public void A_source_that_is_no_guest_is_a_reason_not_a_failure()
    {
        using var dir = new TempDir("warmup");
        string raw = DiskFixtures.Raw(dir["data.raw"], 8 * 1024 * 1024, 4096);
        var warming = ImagePatcher.WarmCacheInBackground(raw, null, dir["patch-cache"], new GuestPatchOptions());
        Assert.IsNotNull(warming.Result, "a disk without a guest has nothing to warm");
        Assert.IsFalse(Directory.Exists(dir["patch-cache"]) && Directory.EnumerateFileSystemEntries(dir["patch-cache"]).Any());
    }
}
