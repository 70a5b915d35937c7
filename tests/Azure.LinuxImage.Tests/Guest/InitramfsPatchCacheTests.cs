using Azure.LinuxImage.Engine.Guest.Initramfs;
using Azure.LinuxImage.Engine.Guest.Patching;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Guest;

/// <summary>
/// The initramfs part of the patch is kept in the intermediate folder by its inputs: a build with
/// another kernel parameter reuses it and ends with the bytes a clean patch writes; a damaged
/// entry is recomputed; a changed input (another initramfs, another driver set) is a new entry.
/// </summary>
[TestClass]
public sealed class InitramfsPatchCacheTests
{
    private static readonly GuestPatchOptions Defaults = new();

    [TestMethod]
    [DynamicData(nameof(GuestInitramfsFixture.Families), typeof(GuestInitramfsFixture))]
    public void A_changed_kernel_parameter_reuses_the_initramfs_result_and_equals_a_clean_patch(string family)
    {
        using var cache = new TempDir("patch-cache");
        var changed = Defaults with { KernelParameters = ["console=ttyS0,115200n8", "earlyprintk=ttyS0,115200", "rootdelay=120"] };

        var first = GuestInitramfsFixture.Family(family);
        GuestPatcher.Patch(first, Defaults, cache.Path);
        var entries = Directory.GetFiles(cache.Path);
        Assert.IsNotEmpty(entries, "the initramfs result is stored");
        var stamps = entries.ToDictionary(e => e, File.GetLastWriteTimeUtc);

        var rebuilt = GuestInitramfsFixture.Family(family);
        var result = GuestPatcher.Patch(rebuilt, changed, cache.Path);
        CollectionAssert.AreEquivalent(entries, Directory.GetFiles(cache.Path), "same inputs, same entries");
        Assert.IsTrue(entries.All(e => File.GetLastWriteTimeUtc(e) == stamps[e]), "entries are read, not rewritten");
        Assert.IsTrue(result.Actions.Any(a => a.Contains("/boot/", StringComparison.Ordinal) && a.Contains("hv_vmbus", StringComparison.Ordinal)),
            "the cached action is logged as the computed one: " + string.Join("\n", result.Actions));

        var clean = GuestInitramfsFixture.Family(family);
        GuestPatcher.Patch(clean, changed);
        Assert.AreEqual(clean.Snapshot(), rebuilt.Snapshot());
    }

    [TestMethod]
    [DynamicData(nameof(GuestInitramfsFixture.Families), typeof(GuestInitramfsFixture))]
    public void Warming_from_the_unpatched_guest_writes_nothing_there_and_the_patch_then_reuses_it(string family)
    {
        using var cache = new TempDir("patch-cache");
        var source = GuestInitramfsFixture.Family(family);
        var before = source.Snapshot();
        GuestPatcher.WarmInitramfsCache(source, Defaults, cache.Path);
        Assert.AreEqual(before, source.Snapshot(), "the warm-up reads the guest (the source disk), never writes it");
        var entries = Directory.GetFiles(cache.Path);
        Assert.IsNotEmpty(Directory.GetFiles(cache.Path, "*.patch"), "the initramfs result is stored");
        var stamps = entries.ToDictionary(e => e, File.GetLastWriteTimeUtc);

        var warmed = GuestInitramfsFixture.Family(family);
        GuestPatcher.Patch(warmed, Defaults, cache.Path);
        CollectionAssert.AreEquivalent(entries, Directory.GetFiles(cache.Path), "the patch looks up the entries the warm-up stored");
        Assert.IsTrue(entries.All(e => File.GetLastWriteTimeUtc(e) == stamps[e]), "entries are read, not rewritten");

        var clean = GuestInitramfsFixture.Family(family);
        GuestPatcher.Patch(clean, Defaults);
        Assert.AreEqual(clean.Snapshot(), warmed.Snapshot());
    }

    [TestMethod]
    public void A_damaged_entry_is_computed_again_and_a_changed_initramfs_gets_its_own_entry()
    {
        using var cache = new TempDir("patch-cache");
        GuestPatcher.Patch(GuestInitramfsFixture.Debian12(), Defaults, cache.Path);
        string entry = Directory.GetFiles(cache.Path, "*.patch").Single();
        File.WriteAllBytes(entry, [1, 2, 3]);

        var fromDamaged = GuestInitramfsFixture.Debian12();
        GuestPatcher.Patch(fromDamaged, Defaults, cache.Path);
        var clean = GuestInitramfsFixture.Debian12();
        GuestPatcher.Patch(clean, Defaults);
        Assert.AreEqual(clean.Snapshot(), fromDamaged.Snapshot());

        var other = GuestInitramfsFixture.Debian12();
        other.AddBytes($"/boot/initrd.img-{GuestFixtures.DebianKernel}", GuestInitramfsFixture.Build(GuestFixtures.DebianKernel, withHyperV: false, moduleRoot: "lib/modules"));
        GuestPatcher.Patch(other, Defaults, cache.Path);
        Assert.HasCount(2, Directory.GetFiles(cache.Path, "*.patch"));
    }

    [TestMethod]
    [DynamicData(nameof(GuestInitramfsFixture.Families), typeof(GuestInitramfsFixture))]
    public void The_patch_leaves_validation_the_module_list_of_the_initramfs_it_wrote(string family)
    {
        using var cache = new TempDir("patch-cache");
        var fs = GuestInitramfsFixture.Family(family);
        GuestPatcher.Patch(fs, Defaults, cache.Path);
        var lists = new InitramfsModuleListCache(cache.Path);
        foreach (var kernel in HyperVInitramfs.FindKernels(fs).Where(k => k.InitramfsPath is not null))
        {
            byte[] written = fs.ReadFile(kernel.InitramfsPath!);
            var listed = lists.TryGet(InitramfsModuleListCache.Key(written));
            Assert.IsNotNull(listed, "the patch lists what it wrote");
            // The list must be exactly what reading the archive gives, or validation would judge another initramfs.
            var read = InitramfsReader.Read(written).ModuleNames();
            CollectionAssert.AreEquivalent(read.ToList(), listed.ToList());
            Assert.IsTrue(listed.Contains("hv_vmbus"));
            CollectionAssert.AreEquivalent(read.ToList(), HyperVInitramfs.ModuleNames(fs, kernel.InitramfsPath!, lists).ToList());

            // A list cut short is not taken for a shorter list: validation reads the archive again.
            string file = Directory.GetFiles(cache.Path, "*.modules").Single(f => f.Contains(InitramfsModuleListCache.Key(written), StringComparison.Ordinal));
            File.WriteAllLines(file, File.ReadAllLines(file)[..2]);
            Assert.IsNull(lists.TryGet(InitramfsModuleListCache.Key(written)));
            CollectionAssert.AreEquivalent(read.ToList(), HyperVInitramfs.ModuleNames(fs, kernel.InitramfsPath!, lists).ToList());
        }
    }
}
