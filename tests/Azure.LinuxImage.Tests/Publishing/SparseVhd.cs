using Azure.LinuxImage.Engine.Disks.Vhd;

namespace Azure.LinuxImage.Tests.Publishing;

/// <summary>Builds small sparse fixed VHDs with data at chosen places; everything else stays a hole.</summary>
internal static class SparseVhd
{
    public const int Page = 512;
    public const long MiB = 1024 * 1024;

    public static void Create(string path, long sizeMiB, IEnumerable<(long Offset, byte[] Data)> writes)
    {
        long dataSize = sizeMiB * MiB;
        using var stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite);
        stream.SetLength(dataSize + VhdFooter.Size);
        foreach (var (offset, data) in writes)
        {
            stream.Position = offset;
            stream.Write(data);
        }
        stream.Position = dataSize;
        stream.Write(VhdFooter.CreateFixed(dataSize, Guid.NewGuid(), DateTime.UtcNow).ToBytes());
    }

    /// <summary>Bytes that are non-zero in every page, seeded so two calls with one seed agree.</summary>
    public static byte[] Data(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        for (int i = 0; i < length; i += Page)
        {
            bytes[i] |= 1;
        }
        return bytes;
    }

    /// <summary>
    /// The pages of a 40 MiB image a careful uploader must send: scattered data over holes, a run
    /// longer than one 4 MiB write, zero pages inside a data region, an unaligned few bytes, and the footer.
    /// </summary>
    public static (long Offset, byte[] Data)[] ScatteredWrites()
    {
        byte[] withZeroPages = Data(256 * 1024, 3);
        Array.Clear(withZeroPages, 64 * 1024, 3 * Page); // three zero pages inside written data
        Array.Clear(withZeroPages, 200 * 1024, 16 * 1024);
        return
        [
            (0, Data(64 * 1024, 1)),                        // boot area
            (1 * MiB + 1000, [7, 8, 9]),                    // a few bytes in the middle of a page
            (3 * MiB, Data((int)(9 * MiB) + 4096, 2)),      // longer than two 4 MiB writes
            (20 * MiB, withZeroPages),
            (31 * MiB + 512, Data(Page, 4)),                // one lone page
            (39 * MiB, Data((int)MiB, 5)),                  // the last MiB, next to the footer
        ];
    }

    /// <summary>The non-zero 512-byte pages of a file, read in full, joined into runs: the independent expectation.</summary>
    public static List<(long Offset, long Length)> NonZeroRuns(string path)
    {
        byte[] all = File.ReadAllBytes(path);
        var runs = new List<(long, long)>();
        long start = -1;
        for (long p = 0; p <= all.Length; p += Page)
        {
            bool data = p < all.Length && all.AsSpan((int)p, Page).ContainsAnyExcept((byte)0);
            if (data && start < 0)
            {
                start = p;
            }
            else if (!data && start >= 0)
            {
                runs.Add((start, p - start));
                start = -1;
            }
        }
        return runs;
    }
}
