using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vhd;

/// <summary>
/// A dynamic or differencing VHD: a block allocation table over blocks that each start with a
/// sector bitmap. In a differencing disk a clear bitmap bit means "read the parent".
/// </summary>
public sealed class VhdDynamicDiskImage : IDiskImage
{
    private const uint Unallocated = 0xFFFFFFFF;
    private const long MaxBlockSize = 1L << 30;

    private readonly SourceFile file;
    private readonly uint[] bat;
    private readonly long blockSize;
    private readonly int bitmapBytes;
    private readonly IDiskImage? parent;
    private readonly object bitmapLock = new();
    private long cachedBitmapBlock = -1;
    private byte[] cachedBitmap = [];

    private VhdDynamicDiskImage(SourceFile file, VhdFooter footer, uint[] bat, long blockSize, IDiskImage? parent, IReadOnlyList<Diagnostic> warnings)
    {
        this.file = file;
        this.bat = bat;
        this.blockSize = blockSize;
        this.parent = parent;
        Footer = footer;
        Length = (long)footer.CurrentSize;
        bitmapBytes = (int)(((blockSize / 512 / 8) + 511) / 512 * 512);
        Warnings = parent is null ? warnings : [.. warnings, .. parent.Warnings];
    }

    public VhdFooter Footer { get; }

    public DiskFormat Format => parent is null ? DiskFormat.VhdDynamic : DiskFormat.VhdDifferencing;

    public string Path => file.Path;

    public long Length { get; }

    public IReadOnlyList<Diagnostic> Warnings { get; }

    public IReadOnlyList<string> Files => parent is null ? [file.Path] : [file.Path, .. parent.Files];

    internal static VhdDynamicDiskImage Open(SourceFile file, VhdFooter footer, DiskOpenContext context, IReadOnlyList<Diagnostic> warnings)
    {
        string path = file.Path;
        LinuxImageException Corrupt(string what) => new(DiagnosticCatalog.DiskCorrupt, path, path, what);

        long headerOffset = footer.DataOffset > (ulong)long.MaxValue ? -1 : (long)footer.DataOffset;
        if (headerOffset < VhdFooter.Size || headerOffset > file.Length - VhdFooter.Size - VhdDynamicHeader.Size)
        {
            throw Corrupt($"the dynamic header offset {footer.DataOffset} lies outside the file");
        }
        var headerBytes = new byte[VhdDynamicHeader.Size];
        file.ReadExactly(headerOffset, headerBytes, "VHD dynamic header");
        if (!VhdDynamicHeader.HasCookie(headerBytes))
        {
            throw Corrupt($"no dynamic disk header (cxsparse) at offset {headerOffset}");
        }
        var header = VhdDynamicHeader.Parse(headerBytes);
        if (header.Checksum != header.ComputedChecksum)
        {
            throw Corrupt($"the dynamic header checksum is wrong (stored 0x{header.Checksum:X8}, computed 0x{header.ComputedChecksum:X8})");
        }
        long blockSize = header.BlockSize;
        if (blockSize < 512 || blockSize > MaxBlockSize || (blockSize & (blockSize - 1)) != 0)
        {
            throw Corrupt($"block size {header.BlockSize} is not a power of two between 512 bytes and 1 GiB");
        }
        long size = (long)footer.CurrentSize;
        long blocksNeeded = (size + blockSize - 1) / blockSize;
        if (header.MaxTableEntries < blocksNeeded)
        {
            throw Corrupt($"the block table has {header.MaxTableEntries} entries but a disk of {size} bytes needs {blocksNeeded}");
        }
        long tableOffset = header.TableOffset > (ulong)long.MaxValue ? -1 : (long)header.TableOffset;
        long tableBytes = blocksNeeded * 4;
        // The table must lie in the file: this bounds the allocation below by the file's real size.
        if (tableOffset < VhdFooter.Size || tableOffset > file.Length - VhdFooter.Size - tableBytes)
        {
            throw Corrupt($"the block table ({tableBytes} bytes at offset {header.TableOffset}) lies outside the file");
        }
        var raw = new byte[tableBytes];
        file.ReadExactly(tableOffset, raw, "VHD block table");
        var bat = new uint[blocksNeeded];
        int bitmapBytes = (int)(((blockSize / 512 / 8) + 511) / 512 * 512);
        long dataEnd = file.Length - VhdFooter.Size;
        for (long i = 0; i < blocksNeeded; i++)
        {
            uint entry = VhdReader.ReadBatEntry(raw, i);
            bat[i] = entry;
            if (entry == Unallocated)
            {
                continue;
            }
            long start = (long)entry * 512;
            long end = start + bitmapBytes + blockSize;
            bool overlapsTable = start < tableOffset + tableBytes && end > tableOffset;
            if (start < VhdFooter.Size + VhdDynamicHeader.Size || end > dataEnd || overlapsTable)
            {
                string where = end > dataEnd ? "past the end of the file" : "into the disk's headers";
                throw Corrupt($"block table entry {i} points {where} (sector {entry}, block of {blockSize} bytes, file of {file.Length} bytes)");
            }
        }

        IDiskImage? parent = null;
        if (footer.DiskType == VhdDiskType.Differencing)
        {
            parent = context.OpenParent(path, ParentCandidates(file, header));
            if (parent.Length != size)
            {
                long parentLength = parent.Length;
                parent.Dispose();
                throw new LinuxImageException(DiagnosticCatalog.ParentChainInvalid, path, path,
                    $"the parent '{parent.Path}' is {parentLength} bytes but the child is {size} bytes");
            }
            if (parent is VhdDynamicDiskImage { Footer.UniqueId: var parentId } && parentId != header.ParentUniqueId
                || parent is Raw.RawDiskImage && parent.Format == DiskFormat.VhdFixed && !ParentIdMatches(parent.Path, header.ParentUniqueId))
            {
                var warning = Diagnostic.Create(DiagnosticCatalog.ParentIdentityMismatch, path, path, parent.Path, header.ParentUniqueId);
                context.Warnings.Add(warning);
                warnings = [.. warnings, warning];
            }
        }
        return new VhdDynamicDiskImage(file, footer, bat, blockSize, parent, warnings);
    }

    private static bool ParentIdMatches(string parentPath, Guid expected)
    {
        using var parentFile = SourceFile.Open(parentPath);
        return VhdReader.ReadFooter(parentFile).UniqueId == expected;
    }

    private static IEnumerable<string> ParentCandidates(SourceFile file, VhdDynamicHeader header)
    {
        // Relative locators first: a chain copied to another folder or machine keeps working.
        var ordered = header.ParentLocators
            .Where(l => l.PlatformCode is VhdParentLocator.W2ru or VhdParentLocator.W2ku or VhdParentLocator.MacX)
            .OrderBy(l => l.PlatformCode == VhdParentLocator.W2ru ? 0 : 1);
        foreach (var locator in ordered)
        {
            if (locator.DataLength == 0 || locator.DataLength > 64 * 1024
                || locator.DataOffset > (ulong)(file.Length - locator.DataLength))
            {
                continue;
            }
            var data = new byte[locator.DataLength];
            file.ReadExactly((long)locator.DataOffset, data, "VHD parent locator");
            string name = VhdReader.DecodeLocator(locator, data);
            if (name.Length == 0)
            {
                continue;
            }
            string portable = name.Replace('\\', '/');
            if (portable.Length >= 2 && portable[1] == ':' && !OperatingSystem.IsWindows())
            {
                // A Windows drive path on another OS: only its file name can still be found.
                yield return System.IO.Path.GetFileName(portable);
                continue;
            }
            yield return OperatingSystem.IsWindows() ? name : portable;
        }
        if (!string.IsNullOrEmpty(header.ParentUnicodeName))
        {
            yield return System.IO.Path.GetFileName(header.ParentUnicodeName.Replace('\\', '/'));
        }
    }

    public void ReadAt(long offset, Span<byte> buffer)
    {
        this.CheckRange(offset, buffer.Length);
        while (!buffer.IsEmpty)
        {
            long block = offset / blockSize;
            long inBlock = offset % blockSize;
            int count = (int)Math.Min(buffer.Length, blockSize - inBlock);
            var part = buffer[..count];
            uint entry = bat[block];
            if (entry == Unallocated)
            {
                if (parent is null)
                {
                    part.Clear();
                }
                else
                {
                    parent.ReadAt(offset, part);
                }
            }
            else
            {
                long dataStart = ((long)entry * 512) + bitmapBytes;
                if (parent is null)
                {
                    // A dynamic disk's allocated block is authoritative whatever its bitmap says (as Hyper-V and qemu read it).
                    file.ReadExactly(dataStart + inBlock, part, "VHD block data");
                }
                else
                {
                    ReadDifferencing(block, entry, dataStart, offset, inBlock, part);
                }
            }
            offset += count;
            buffer = buffer[count..];
        }
    }

    private void ReadDifferencing(long block, uint entry, long dataStart, long offset, long inBlock, Span<byte> part)
    {
        byte[] bitmap = BitmapOf(block, entry);
        int done = 0;
        while (done < part.Length)
        {
            long sector = (inBlock + done) / 512;
            bool present = (bitmap[sector / 8] & (0x80 >> (int)(sector % 8))) != 0;
            // Extend the run while sectors share the same source.
            long runEndInBlock = ((sector + 1) * 512);
            while (runEndInBlock < inBlock + part.Length)
            {
                long s = runEndInBlock / 512;
                bool p = (bitmap[s / 8] & (0x80 >> (int)(s % 8))) != 0;
                if (p != present)
                {
                    break;
                }
                runEndInBlock += 512;
            }
            int n = (int)(Math.Min(runEndInBlock, inBlock + part.Length) - (inBlock + done));
            var run = part.Slice(done, n);
            if (present)
            {
                file.ReadExactly(dataStart + inBlock + done, run, "VHD block data");
            }
            else
            {
                parent!.ReadAt(offset + done, run);
            }
            done += n;
        }
    }

    private byte[] BitmapOf(long block, uint entry)
    {
        lock (bitmapLock)
        {
            if (cachedBitmapBlock != block)
            {
                var bitmap = new byte[bitmapBytes];
                file.ReadExactly((long)entry * 512, bitmap, "VHD sector bitmap");
                cachedBitmap = bitmap;
                cachedBitmapBlock = block;
            }
            return cachedBitmap;
        }
    }

    public IEnumerable<DiskExtent> GetAllocatedExtents()
    {
        var own = DiskExtents.Coalesce(OwnBlocks());
        return parent is null ? own : DiskExtents.Union(own, parent.GetAllocatedExtents());
    }

    private IEnumerable<DiskExtent> OwnBlocks()
    {
        for (long i = 0; i < bat.Length; i++)
        {
            if (bat[i] != Unallocated)
            {
                long start = i * blockSize;
                yield return new DiskExtent(start, Math.Min(blockSize, Length - start));
            }
        }
    }

    public void Dispose()
    {
        parent?.Dispose();
        file.Dispose();
    }
}
