using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Conversion;

/// <summary>
/// The conversion's early write-back runs on its own thread with a reference on the output's
/// handle: the file must hold what was written, and its descriptor must be closed, and the file
/// unlocked, as soon as the caller closes its handle (a deferred close kept the output locked
/// against the next open in the same process).
/// </summary>
[TestClass]
public sealed class EarlyWritebackTests
{
    private const int Chunk = 4 << 20;

    [TestMethod]
    [DataRow(24, DisplayName = "96 MiB: several write-back windows")]
    [DataRow(1, DisplayName = "4 MiB: less than one window")]
    [DataRow(0, DisplayName = "nothing written")]
    public void The_file_holds_what_was_written_and_is_closed_once_the_writer_is_done(int chunks)
    {
        using var dir = new TempDir();
        string path = dir["out.img"];
        var data = new byte[Chunk];
        new Random(chunks).NextBytes(data);
        using (var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            using var writeback = EarlyWriteback.TryStart(handle);
            Assert.IsNotNull(writeback, "Linux has sync_file_range");
            for (int i = 0; i < chunks; i++)
            {
                RandomAccess.Write(handle, data, (long)i * Chunk);
                writeback.Finished((long)(i + 1) * Chunk);
            }
            // Finished out of order (a cloned chunk ahead of queued writes) must not move progress back.
            writeback.Finished(0);
        }

        Assert.AreEqual(0, OpenDescriptors(path), "the write-back thread still holds the output open");
        // .NET locks what it opens: the next step (align, patch, a test) opens the output exclusively.
        using (File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
        }

        Assert.AreEqual((long)chunks * Chunk, new FileInfo(path).Length);
        using var file = File.OpenHandle(path);
        var back = new byte[Chunk];
        for (int i = 0; i < chunks; i++)
        {
            Assert.AreEqual(Chunk, RandomAccess.Read(file, back, (long)i * Chunk));
            Assert.IsTrue(back.AsSpan().SequenceEqual(data), $"chunk {i} differs");
        }
    }

    private static int OpenDescriptors(string path)
    {
        string full = Path.GetFullPath(path);
        int count = 0;
        foreach (string fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget == full)
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // The descriptor closed while being listed.
            }
        }
        return count;
    }
}
