using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Engine.FileSystems.Btrfs;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>
/// New chunks: mkfs.btrfs --rootdir sizes its chunks to the tree it copies, so a write of any size
/// soon needs a chunk the file system does not have yet. After each change: btrfs check, the chunk
/// and device trees as dump-tree prints them (every chunk has its device extents, the device item
/// counts them), 'btrfs filesystem df' on a read-only kernel mount, and the kernel reads back exactly
/// what was written.
/// </summary>
[TestClass]
public sealed partial class BtrfsChunkAllocationTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [TestMethod]
    [DataRow("-m single")]
    [DataRow("-m dup --csum xxhash")]
    [DataRow("-m dup -d dup")]
    [DataRow("-m single --csum xxhash -R ^free-space-tree")]
    public void Files_larger_than_the_data_chunks_get_new_data_chunks_that_the_kernel_and_btrfs_check_accept(string mkfs)
    {
        using var temp = new TempDir("btrfs-chunk-data");
        string image = BtrfsTestImage.Create(temp, 512, mkfs.Split(' '));
        var before = Layout.Read(image);
        var overlay = new DiskOverlay(FileVolume.OpenRead(image));
        var fs = OpenForWrite(overlay, image);
        var model = new BtrfsModel(BtrfsTestImage.EngineView(fs));
        ulong dataFree = before.Free(BtrfsBlockGroupKind.Data);
        Console.WriteLine($"mkfs.btrfs {mkfs}: {before}");

        var clock = Stopwatch.StartNew();
        // More than every data block group holds, in one transaction (a file of several chunks'
        // worth with DUP data, whose chunks are half as large), then a second file that needs yet more.
        model.CreateFile(fs, fs.RootNode, string.Empty, "big.bin", BtrfsTestImage.Filled((int)dataFree + (40 << 20), 1), 0x1A4, 0, 0);
        model.Replace(fs, "/boot/initrd", BtrfsTestImage.Filled(30 << 20, 2));
        model.CreateFile(fs, Resolve(fs, "/etc"), "/etc", "small.conf", "after the new chunks\n"u8.ToArray(), 0x1A4, 0, 0);
        Console.WriteLine($"engine: {clock.ElapsedMilliseconds} ms for the writes");
        model.AssertEngine(fs);

        string written = OverlayCopy.Write(overlay, image, temp);
        var after = Judge(written, temp);
        Console.WriteLine($"after: {after}");
        Assert.IsGreaterThan(before.Chunks.Count(c => c.Kind == BtrfsBlockGroupKind.Data), after.Chunks.Count(c => c.Kind == BtrfsBlockGroupKind.Data), "new data chunks");
        foreach (var c in after.Chunks.Where(c => c.Kind == BtrfsBlockGroupKind.Data))
        {
            // The profile of the file system's data.
            Assert.AreEqual(before.Chunks.First(b => b.Kind == BtrfsBlockGroupKind.Data).Profile, c.Profile, c.ToString());
        }
        AssertNewChunksAvoidSuperblocks(before, after);
        model.AssertKernel(written, temp);
        BtrfsTestImage.AssertSameAsKernel(written, string.Empty, temp, minimumEntries: 400);
    }

    [TestMethod]
    [DataRow("-m single --nodesize 4096")]
    [DataRow("-m single --csum xxhash")]
    [DataRow("-m dup --nodesize 4096 --csum xxhash")]
    public void Tree_churn_beyond_the_metadata_chunks_gets_new_metadata_chunks_that_the_kernel_and_btrfs_check_accept(string mkfs)
    {
        using var temp = new TempDir("btrfs-chunk-metadata");
        string image = BtrfsTestImage.Create(temp, 512, mkfs.Split(' '), root => File.WriteAllText(Path.Combine(root, "top"), "top\n"));
        var before = Layout.Read(image);
        var overlay = new DiskOverlay(FileVolume.OpenRead(image));
        var fs = OpenForWrite(overlay, image);
        var model = new BtrfsModel(BtrfsTestImage.EngineView(fs));
        ulong metadataFree = before.Free(BtrfsBlockGroupKind.Metadata);
        Console.WriteLine($"mkfs.btrfs {mkfs}: {before}");

        // Inline files of 2000 bytes take about 2.3 KiB of leaf each, and leaves that split are
        // half full: this many cannot fit the metadata block groups mkfs made.
        int count = (int)(metadataFree / 2000) + 500;
        var clock = Stopwatch.StartNew();
        ulong dir = 0;
        string dirPath = string.Empty;
        for (int i = 0; i < count; i++)
        {
            if (i % 1000 == 0)
            {
                dirPath = $"/d{i / 1000}";
                dir = model.CreateDirectory(fs, fs.RootNode, string.Empty, dirPath[1..], 0x1ED, 0, 0);
            }
            model.CreateFile(fs, dir, dirPath, $"file-{i:D6}", BtrfsTestImage.Filled(2000, i), 0x1A4, 0, 0);
        }
        Console.WriteLine($"engine: {count} files in {clock.ElapsedMilliseconds} ms");
        model.AssertEngine(fs);

        string written = OverlayCopy.Write(overlay, image, temp);
        var after = Judge(written, temp);
        Console.WriteLine($"after: {after}");
        Assert.IsGreaterThan(before.Chunks.Count(c => c.Kind == BtrfsBlockGroupKind.Metadata), after.Chunks.Count(c => c.Kind == BtrfsBlockGroupKind.Metadata), "new metadata chunks");
        foreach (var c in after.Chunks.Where(c => c.Kind == BtrfsBlockGroupKind.Metadata))
        {
            Assert.AreEqual(before.Chunks.First(b => b.Kind == BtrfsBlockGroupKind.Metadata).Profile, c.Profile, c.ToString());
        }
        AssertNewChunksAvoidSuperblocks(before, after);
        model.AssertKernel(written, temp);
    }

    [TestMethod]
    [DataRow("-m single")]
    [DataRow("-m dup -d dup")]
    public void New_chunks_have_the_logical_address_size_and_profile_the_kernel_gives_them(string mkfs)
    {
        using var temp = new TempDir("btrfs-chunk-kernel");
        string image = BtrfsTestImage.Create(temp, 512, mkfs.Split(' '));
        var before = Layout.Read(image);
        var content = BtrfsTestImage.Filled((int)before.Free(BtrfsBlockGroupKind.Data) + (20 << 20), 9);

        string byKernel = temp[$"kernel-{Guid.NewGuid():N}.img"];
        File.Copy(image, byKernel);
        BtrfsTestImage.WithMount(byKernel, "loop", temp, m => File.WriteAllBytes(Path.Combine(m, "big.bin"), content));
        var overlay = new DiskOverlay(FileVolume.OpenRead(image));
        var fs = OpenForWrite(overlay, image);
        fs.CreateFile(fs.RootNode, "big.bin", content, 0x1A4, 0, 0);
        string byEngine = OverlayCopy.Write(overlay, image, temp);
        Judge(byEngine, temp);

        var kernelChunks = Layout.Read(byKernel).Chunks.Where(c => !before.Chunks.Any(b => b.Logical == c.Logical)).ToList();
        var engineChunks = Layout.Read(byEngine).Chunks.Where(c => !before.Chunks.Any(b => b.Logical == c.Logical)).ToList();
        Console.WriteLine($"kernel: {string.Join("; ", kernelChunks)}\nengine: {string.Join("; ", engineChunks)}");
        Assert.IsNotEmpty(kernelChunks);
        Assert.IsNotEmpty(engineChunks);
        // The first new chunk (the kernel spreads later writes over chunks it allocates ahead). Where
        // the kernel's copies cross no superblock copy, they lie where the engine's do; the engine
        // steps over the one at 64 MiB, which the kernel only leaves out of the block group.
        var (k, e) = (kernelChunks[0], engineChunks[0]);
        Assert.AreEqual((k.Logical, k.Length, k.Kind, k.Profile), (e.Logical, e.Length, e.Kind, e.Profile), $"kernel {k}, engine {e}");
        if (k.Stripes.All(s => s >= (64UL << 20) + (64 << 10) || s + k.Length <= 64UL << 20))
        {
            CollectionAssert.AreEqual(k.Stripes, e.Stripes, $"kernel {k}, engine {e}");
        }
    }

    /// <summary>
    /// mkfs.btrfs --rootdir with 60 MiB of data puts a data block group across the superblock copy at
    /// 64 MiB, fills all before it, and lists the copy's 64 KiB stripe in the free space tree as free
    /// (the kernel leaves it out only when loading): the first free range. A small file must go
    /// after it, or the superblock copy and the file's first block overwrite each other.
    /// </summary>
    [TestMethod]
    [DataRow("-m single")]
    [DataRow("-m single -O ^no-holes -R ^free-space-tree")]
    public void Space_a_block_group_has_across_a_superblock_copy_is_never_allocated(string mkfs)
    {
        using var temp = new TempDir("btrfs-chunk-super");
        var big = BtrfsTestImage.Filled(60 << 20, 8);
        string image = BtrfsTestImage.Create(temp, 256, mkfs.Split(' '), root => File.WriteAllBytes(Path.Combine(root, "big.bin"), big));
        var before = Layout.Read(image);
        Assert.IsTrue(before.Chunks.Any(c => c.Kind == BtrfsBlockGroupKind.Data && c.Stripes.Any(s => s <= 64UL << 20 && s + c.Length > 64UL << 20)),
            $"the fixture has a data block group across the superblock copy at 64 MiB: {before}");
        var overlay = new DiskOverlay(FileVolume.OpenRead(image));
        var fs = OpenForWrite(overlay, image);
        var model = new BtrfsModel(BtrfsTestImage.EngineView(fs));
        model.CreateFile(fs, fs.RootNode, string.Empty, "small.bin", BtrfsTestImage.Filled(20_000, 9), 0x1A4, 0, 0);
        model.Replace(fs, "/big.bin", BtrfsTestImage.Filled(30_000, 10));
        model.AssertEngine(fs);
        string written = OverlayCopy.Write(overlay, image, temp);
        Judge(written, temp);
        model.AssertKernel(written, temp);
    }

    [TestMethod]
    public void Two_instances_on_one_volume_each_see_the_chunks_the_other_allocated()
    {
        using var temp = new TempDir("btrfs-chunk-two");
        string image = BtrfsTestImage.Create(temp, 512, ["-m", "dup"], root => File.WriteAllText(Path.Combine(root, "top"), "top\n"),
            mounted: m =>
            {
                BtrfsTestImage.Btrfs("subvolume", "create", Path.Combine(m, "root"));
                BtrfsTestImage.Btrfs("subvolume", "create", Path.Combine(m, "home"));
            });
        var before = Layout.Read(image);
        var overlay = new DiskOverlay(FileVolume.OpenRead(image));
        // As GuestMounts mounts Fedora's / and /home: two instances, each following the other's commits.
        var top = OpenForWrite(overlay, image, "subvol=root");
        var home = OpenForWrite(overlay, image, "subvol=home");
        var topModel = new BtrfsModel(BtrfsTestImage.EngineView(top));
        var homeModel = new BtrfsModel(BtrfsTestImage.EngineView(home));
        topModel.CreateFile(top, top.RootNode, string.Empty, "first.bin", BtrfsTestImage.Filled(20 << 20, 5), 0x1A4, 0, 0);
        // Needs the chunk the other instance allocated, then one more, which must not land on it.
        homeModel.CreateFile(home, home.RootNode, string.Empty, "second.bin", BtrfsTestImage.Filled(70 << 20, 6), 0x1A4, 1000, 1000);
        topModel.CreateFile(top, top.RootNode, string.Empty, "third.bin", BtrfsTestImage.Filled(3 << 20, 7), 0x1A4, 0, 0);
        topModel.AssertEngine(top);
        homeModel.AssertEngine(home);
        string written = OverlayCopy.Write(overlay, image, temp);
        var after = Judge(written, temp);
        Console.WriteLine($"before: {before}\nafter: {after}");
        Assert.IsGreaterThanOrEqualTo(before.Chunks.Count + 2, after.Chunks.Count, "new chunks from both instances");
        topModel.AssertKernel(written, temp, "subvol=root");
        homeModel.AssertKernel(written, temp, "subvol=home");
    }

    [TestMethod]
    public void A_device_without_unallocated_space_is_refused_with_nothing_written()
    {
        using var temp = new TempDir("btrfs-chunk-full");
        string image = BtrfsTestImage.Create(temp, 256, ["-m", "single"]);
        var overlay = new DiskOverlay(FileVolume.OpenRead(image));
        var fs = OpenForWrite(overlay, image);
        var model = new BtrfsModel(BtrfsTestImage.EngineView(fs));
        // Most of the device: new data chunks until little is left unallocated.
        model.CreateFile(fs, fs.RootNode, string.Empty, "most.bin", BtrfsTestImage.Filled(180 << 20, 3), 0x1A4, 0, 0);
        var changes = overlay.GetChanges().Select(c => (c.Offset, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(c.Data)))).ToList();
        var e = Assert.ThrowsExactly<LinuxImageException>(() => fs.CreateFile(fs.RootNode, "more.bin", new byte[100 << 20], 0x1A4, 0, 0));
        Assert.AreEqual("LIMG0386", e.Descriptor.Code, e.Message);
        StringAssert.Contains(e.Message, "unallocated");
        CollectionAssert.AreEqual(changes, overlay.GetChanges().Select(c => (c.Offset, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(c.Data)))).ToList(), "the refused change left bytes behind");
        // What fits still goes in.
        model.CreateFile(fs, fs.RootNode, string.Empty, "fits.txt", "still room for this\n"u8.ToArray(), 0x1A4, 0, 0);
        string written = OverlayCopy.Write(overlay, image, temp);
        Judge(written, temp);
        model.AssertKernel(written, temp);
    }

    [TestMethod]
    [DataRow(1203, "-m single --nodesize 4096")]
    [DataRow(77, "-m dup --csum xxhash")]
    public void Random_operations_with_files_that_need_new_chunks_match_a_model(int seed, string mkfs)
    {
        Console.WriteLine($"seed {seed}, mkfs.btrfs {mkfs}");
        using var temp = new TempDir("btrfs-chunk-model");
        string image = BtrfsTestImage.Create(temp, 512, mkfs.Split(' '), root => File.WriteAllText(Path.Combine(root, "top"), "top\n"));
        var before = Layout.Read(image);
        var overlay = new DiskOverlay(FileVolume.OpenRead(image));
        var fs = OpenForWrite(overlay, image);
        var model = new BtrfsModel(BtrfsTestImage.EngineView(fs));
        var random = new Random(seed);
        for (int step = 0; step < 150; step++)
        {
            if (random.Next(10) == 0)
            {
                model.CreateFile(fs, fs.RootNode, string.Empty, $"large-{step}", BtrfsTestImage.Filled(random.Next(1 << 20, 10 << 20), step), 0x1A4, 0, 0);
            }
            else
            {
                model.RandomStep(fs, random, step);
            }
        }
        model.AssertEngine(fs);
        string written = OverlayCopy.Write(overlay, image, temp);
        var after = Judge(written, temp);
        Console.WriteLine($"before: {before}\nafter: {after}");
        Assert.IsGreaterThan(before.Chunks.Count, after.Chunks.Count, "new chunks");
        model.AssertKernel(written, temp);
    }

    /// <summary>A new chunk's copies lie after the first MiB and away from the superblock copies (64 KiB, 64 MiB, 256 GiB).</summary>
    private static void AssertNewChunksAvoidSuperblocks(Layout before, Layout after)
    {
        foreach (var c in after.Chunks.Where(c => !before.Chunks.Any(b => b.Logical == c.Logical)))
        {
            foreach (ulong stripe in c.Stripes)
            {
                Assert.IsGreaterThanOrEqualTo(1UL << 20, stripe, c.ToString());
                foreach (ulong super in new ulong[] { 64UL << 10, 64UL << 20, 256UL << 30 })
                {
                    Assert.IsTrue(stripe >= super + (64 << 10) || stripe + c.Length <= super, $"{c} covers the superblock copy at {super}");
                }
            }
        }
    }

    private static BtrfsFileSystem OpenForWrite(DiskOverlay overlay, string image, string options = "")
    {
        var fs = BtrfsFileSystem.Open(overlay, image, options);
        fs.Clock = () => Now;
        return fs;
    }

    private static ulong Resolve(IFileSystem fs, string path) => BtrfsWriteTests.Resolve(fs, path);

    /// <summary>
    /// btrfs check and the superblock copies (as every write test), a read-only scrub of every copy, then the chunk and device trees:
    /// each chunk's stripes are device extents naming it, no two device extents overlap, none covers a
    /// superblock copy or the first MiB unless mkfs put it there, and the device item (in the chunk
    /// tree and the superblock) counts them all; 'btrfs filesystem df' agrees with the block groups.
    /// </summary>
    private static Layout Judge(string image, TempDir temp)
    {
        BtrfsWriteTests.Check(image);
        var layout = Layout.Read(image);
        var extents = layout.DevExtents.OrderBy(d => d.Offset).ToList();
        for (int i = 1; i < extents.Count; i++)
        {
            Assert.IsLessThanOrEqualTo(extents[i].Offset, extents[i - 1].Offset + extents[i - 1].Length, $"device extents at {extents[i - 1].Offset} and {extents[i].Offset} overlap");
        }
        foreach (var c in layout.Chunks)
        {
            var stripes = extents.Where(d => d.ChunkOffset == c.Logical).ToList();
            Assert.HasCount(c.Stripes.Count, stripes, $"device extents of {c}");
            CollectionAssert.AreEquivalent(c.Stripes, stripes.Select(s => s.Offset).ToList(), $"stripes of {c}");
            Assert.IsTrue(stripes.All(s => s.Length == c.Length), $"device extent lengths of {c}");
        }
        ulong allocated = (ulong)extents.Sum(d => (decimal)d.Length);
        Assert.AreEqual(allocated, layout.DeviceBytesUsed, "the device item's bytes used");
        Assert.AreEqual(allocated, layout.SuperDeviceBytesUsed, "the superblock's device item's bytes used");
        Assert.IsLessThanOrEqualTo(layout.DeviceTotalBytes, extents[^1].Offset + extents[^1].Length, "the last device extent ends inside the device");

        BtrfsTestImage.WithMount(image, "ro,loop", temp, m =>
        {
            // btrfs check reads one good copy of each block; scrub reads every copy (DUP's second too).
            var scrub = ExternalTool.Run("btrfs", ["scrub", "start", "-B", "-r", m]);
            Console.WriteLine(scrub.All);
            Assert.AreEqual(0, scrub.ExitCode, scrub.All);
            StringAssert.Contains(scrub.All, "no errors found", scrub.All);
            string df = ExternalTool.RunChecked("btrfs", "filesystem", "df", "-b", m).StdOut;
            Console.WriteLine(df);
            foreach (var kind in new[] { BtrfsBlockGroupKind.Data, BtrfsBlockGroupKind.Metadata })
            {
                string name = kind == BtrfsBlockGroupKind.Data ? "Data" : "Metadata";
                var match = Regex.Match(df, $@"^{name}, \w+: total=(\d+), used=(\d+)", RegexOptions.Multiline);
                Assert.IsTrue(match.Success, df);
                var groups = layout.Chunks.Where(c => c.Kind == kind).ToList();
                Assert.AreEqual((ulong)groups.Sum(c => (decimal)c.Length), ulong.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), $"{name} total: {df}");
                Assert.AreEqual((ulong)groups.Sum(c => (decimal)c.Used), ulong.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), $"{name} used: {df}");
            }
        });
        return layout;
    }

    internal enum BtrfsBlockGroupKind
    {
        Data,
        Metadata,
        System,
    }

    internal sealed record Chunk(ulong Logical, ulong Length, BtrfsBlockGroupKind Kind, string Profile, List<ulong> Stripes)
    {
        public ulong Used { get; set; }

        public override string ToString() => $"{Kind}|{Profile} at {Logical}, {Length >> 20} MiB, used {Used}, stripes {string.Join("+", Stripes)}";
    }

    internal sealed record DevExtent(ulong Offset, ulong Length, ulong ChunkOffset);

    /// <summary>The chunk and device trees and the block groups as btrfs-progs' dump-tree and dump-super print them.</summary>
    internal sealed partial record Layout(List<Chunk> Chunks, List<DevExtent> DevExtents, ulong DeviceBytesUsed, ulong DeviceTotalBytes, ulong SuperDeviceBytesUsed)
    {
        public ulong Free(BtrfsBlockGroupKind kind) => (ulong)Chunks.Where(c => c.Kind == kind).Sum(c => (decimal)(c.Length - c.Used));

        public override string ToString() => string.Join("; ", Chunks);

        public static Layout Read(string image)
        {
            string chunkTree = ExternalTool.RunChecked("btrfs", "inspect-internal", "dump-tree", "-t", "chunk", image).StdOut;
            var chunks = new List<Chunk>();
            foreach (Match m in ChunkItem().Matches(chunkTree))
            {
                string type = m.Groups["type"].Value;
                var kind = type.StartsWith("DATA", StringComparison.Ordinal) ? BtrfsBlockGroupKind.Data
                    : type.StartsWith("METADATA", StringComparison.Ordinal) ? BtrfsBlockGroupKind.Metadata : BtrfsBlockGroupKind.System;
                var stripes = StripeLine().Matches(m.Groups["stripes"].Value).Select(s => U64(s.Groups[1].Value)).ToList();
                chunks.Add(new Chunk(U64(m.Groups["logical"].Value), U64(m.Groups["length"].Value), kind, type[(type.IndexOf('|') + 1)..], stripes));
            }
            var dev = DevItemLine().Match(chunkTree);
            Assert.IsTrue(dev.Success, chunkTree);
            string devTree = ExternalTool.RunChecked("btrfs", "inspect-internal", "dump-tree", "-t", "dev", image).StdOut;
            var extents = DevExtentItem().Matches(devTree).Select(m => new DevExtent(U64(m.Groups[1].Value), U64(m.Groups[3].Value), U64(m.Groups[2].Value))).ToList();
            string groups = ExternalTool.RunChecked("btrfs", "inspect-internal", "dump-tree", "-t", "extent", image).StdOut
                + ExternalTool.Run("btrfs", ["inspect-internal", "dump-tree", "-t", "block-group", image]).StdOut;
            foreach (Match m in BlockGroupItem().Matches(groups))
            {
                var c = chunks.Single(c => c.Logical == U64(m.Groups[1].Value));
                c.Used = U64(m.Groups[2].Value);
            }
            string super = ExternalTool.RunChecked("btrfs", "inspect-internal", "dump-super", image).StdOut;
            var superUsed = Regex.Match(super, @"^dev_item\.bytes_used\s+(\d+)", RegexOptions.Multiline);
            Assert.IsTrue(superUsed.Success, super);
            return new Layout(chunks, extents, U64(dev.Groups[2].Value), U64(dev.Groups[1].Value), U64(superUsed.Groups[1].Value));
        }

        private static ulong U64(string s) => ulong.Parse(s, CultureInfo.InvariantCulture);

        [GeneratedRegex(@"key \(FIRST_CHUNK_TREE CHUNK_ITEM (?<logical>\d+)\).*\n\s+length (?<length>\d+) owner \d+ stripe_len \d+ type (?<type>\S+)\n(?<stripes>(?:.*\n)*?)(?=\s+item |\S|\z)")]
        private static partial Regex ChunkItem();

        [GeneratedRegex(@"stripe \d+ devid \d+ offset (\d+)")]
        private static partial Regex StripeLine();

        [GeneratedRegex(@"devid \d+ total_bytes (\d+) bytes_used (\d+)")]
        private static partial Regex DevItemLine();

        [GeneratedRegex(@"key \(\d+ DEV_EXTENT (\d+)\).*\n.*\n\s+chunk_objectid \d+ chunk_offset (\d+) length (\d+)")]
        private static partial Regex DevExtentItem();

        [GeneratedRegex(@"key \((\d+) BLOCK_GROUP_ITEM \d+\).*\n\s+block group used (\d+)")]
        private static partial Regex BlockGroupItem();
    }
}
