using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vhdx;

/// <summary>
/// A VHDX (fixed, dynamic or differencing): blocks mapped by the BAT; in a differencing disk a
/// partially present block takes each sector from this file or the parent, as its sector bitmap says.
/// </summary>
public sealed class VhdxDiskImage : IDiskImage, IBlockMapper
{
    private const int MaxCachedBitmaps = 256;

    private readonly SourceFile file;
    private readonly VhdxFileView view;
    private readonly VhdxBat bat;
    private readonly IDiskImage? parent;
    private readonly long blockSize;
    private readonly int sectorSize;
    private readonly object bitmapLock = new();
    private readonly Dictionary<long, byte[]> bitmaps = [];

    private VhdxDiskImage(VhdxFileView view, VhdxHeader header, VhdxMetadata metadata, VhdxBat bat, IDiskImage? parent, IReadOnlyList<Diagnostic> warnings)
    {
        this.view = view;
        file = view.File;
        this.bat = bat;
        this.parent = parent;
        Header = header;
        Metadata = metadata;
        blockSize = metadata.BlockSize;
        sectorSize = metadata.LogicalSectorSize;
        Length = metadata.VirtualSize;
        Warnings = parent is null ? warnings : [.. warnings, .. parent.Warnings];
    }

    public VhdxHeader Header { get; }

    public VhdxMetadata Metadata { get; }

    public DiskFormat Format => DiskFormat.Vhdx;

    public string Path => file.Path;

    public long Length { get; }

    public IReadOnlyList<Diagnostic> Warnings { get; }

    public IReadOnlyList<string> Files => parent is null ? [file.Path] : [file.Path, .. parent.Files];

    internal static VhdxDiskImage Open(SourceFile file, DiskOpenContext context)
    {
        string path = file.Path;
        if (file.Length < VhdxFile.HeaderAreaSize)
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskTruncated, path, path, $"a VHDX file starts with 1 MiB of headers but this one has {file.Length} bytes");
        }
        var header = VhdxHeader.ReadCurrent(file);
        var warnings = new List<Diagnostic>();
        var replay = VhdxLog.ReadActiveSequence(file, header);
        if (replay is not null)
        {
            var warning = Diagnostic.Create(DiagnosticCatalog.VhdxLogReplayed, path, path, replay.EntryCount);
            context.Warnings.Add(warning);
            warnings.Add(warning);
        }
        var view = new VhdxFileView(file, replay);
        var regions = VhdxRegionTable.Read(view);
        var batRegion = regions.FirstOrDefault(r => r.Id == VhdxRegionTable.BatRegion);
        var metadataRegion = regions.FirstOrDefault(r => r.Id == VhdxRegionTable.MetadataRegion);
        if (batRegion.Id == Guid.Empty || metadataRegion.Id == Guid.Empty)
        {
            throw new LinuxImageException(DiagnosticCatalog.VhdxHeadersInvalid, path, path, "the region table lacks the BAT or the metadata region");
        }
        var metadata = VhdxMetadata.Read(view, metadataRegion);
        var bat = VhdxBat.Read(view, batRegion, metadata, regions);

        IDiskImage? parent = null;
        if (metadata.HasParent)
        {
            parent = context.OpenParent(path, ParentCandidates(metadata));
            if (parent.Length != metadata.VirtualSize)
            {
                string parentPath = parent.Path;
                long parentLength = parent.Length;
                parent.Dispose();
                throw new LinuxImageException(DiagnosticCatalog.ParentChainInvalid, path, path,
                    $"the parent '{parentPath}' is {parentLength} bytes but the child is {metadata.VirtualSize} bytes");
            }
            if (metadata.ParentLocator.TryGetValue("parent_linkage", out string? linkage) && Guid.TryParse(linkage, out var expected)
                && parent is VhdxDiskImage vhdxParent && vhdxParent.Header.DataWriteGuid != expected)
            {
                var warning = Diagnostic.Create(DiagnosticCatalog.ParentIdentityMismatch, path, path, parent.Path, expected);
                context.Warnings.Add(warning);
                warnings.Add(warning);
            }
        }
        return new VhdxDiskImage(view, header, metadata, bat, parent, warnings);
    }

    private static IEnumerable<string> ParentCandidates(VhdxMetadata metadata)
    {
        // Relative first: a chain copied to another folder or machine keeps working.
        foreach (string key in new[] { "relative_path", "absolute_win32_path", "volume_path" })
        {
            if (!metadata.ParentLocator.TryGetValue(key, out string? value) || string.IsNullOrWhiteSpace(value))
            {
                continue;
            }
            string portable = value.Replace('\\', '/');
            if (key == "relative_path")
            {
                yield return OperatingSystem.IsWindows() ? value : portable;
                continue;
            }
            if (OperatingSystem.IsWindows())
            {
                yield return value;
            }
            else
            {
                // A Windows drive or volume path on another OS: only its file name can still be found.
                yield return System.IO.Path.GetFileName(portable);
            }
        }
    }

    public void ReadAt(long offset, Span<byte> buffer)
    {
        this.CheckRange(offset, buffer.Length);
        MappedRead.Read(this, offset, buffer);
    }

    MappedRange IBlockMapper.Map(long offset, long max)
    {
        long block = offset / blockSize;
        long inBlock = offset % blockSize;
        long toBlockEnd = Math.Min(blockSize - inBlock, max);
        switch (bat.PayloadState(block))
        {
            case VhdxBlockState.FullyPresent:
                return DataRange(toBlockEnd, bat.PayloadOffset(block) + inBlock);
            case VhdxBlockState.PartiallyPresent:
                return MapPartial(block, inBlock, toBlockEnd);
            case VhdxBlockState.NotPresent or VhdxBlockState.Undefined:
                return new MappedRange(parent is null ? MappedKind.Zero : MappedKind.Parent, toBlockEnd);
            default:
                // Zero, and unmapped (trimmed by the guest: its content is whatever the host chooses, zeros here as in qemu).
                return new MappedRange(MappedKind.Zero, toBlockEnd);
        }
    }

    private MappedRange MapPartial(long block, long inBlock, long length)
    {
        var bitmap = BitmapOf(block);
        bool Present(long sector) => (bitmap[sector >> 3] & (1 << (int)(sector & 7))) != 0;
        long sector = inBlock / sectorSize;
        bool present = Present(sector);
        long runEnd = (sector + 1) * sectorSize;
        while (runEnd < inBlock + length && Present(runEnd / sectorSize) == present)
        {
            runEnd += sectorSize;
        }
        long n = Math.Min(runEnd, inBlock + length) - inBlock;
        return present
            ? DataRange(n, bat.PayloadOffset(block) + inBlock)
            : new MappedRange(MappedKind.Parent, n);
    }

    /// <summary>Payload bytes; those a replayed log entry touched are read through the log's view.</summary>
    private MappedRange DataRange(long length, long host) =>
        view.HasOverlay && (view.Overlaps(host, length) || host + length > file.Length)
            ? new MappedRange(MappedKind.Special, length, file, host)
            : new MappedRange(MappedKind.Data, length, file, host);

    private byte[] BitmapOf(long block)
    {
        lock (bitmapLock)
        {
            if (bitmaps.TryGetValue(block, out var cached))
            {
                return cached;
            }
            // One bit per logical sector; a 1 MiB sector bitmap block covers one chunk of payload blocks.
            long bytesPerBlock = blockSize / sectorSize / 8;
            long chunk = block / bat.ChunkRatio;
            var bitmap = new byte[bytesPerBlock];
            view.ReadExactly(bat.BitmapOffset(chunk) + ((block % bat.ChunkRatio) * bytesPerBlock), bitmap, "VHDX sector bitmap");
            if (bitmaps.Count >= MaxCachedBitmaps)
            {
                bitmaps.Clear();
            }
            bitmaps[block] = bitmap;
            return bitmap;
        }
    }

    void IBlockMapper.ReadParent(long offset, Span<byte> target) => MappedRead.ReadClipped(parent, offset, target);

    void IBlockMapper.ReadSpecial(MappedRange range, long offset, Span<byte> target) => view.ReadExactly(range.Host, target, "VHDX block data");

    public IEnumerable<DiskExtent> GetAllocatedExtents()
    {
        var own = DiskExtents.Coalesce(OwnBlocks());
        return parent is null ? own : DiskExtents.Union(own, parent.GetAllocatedExtents());
    }

    private IEnumerable<DiskExtent> OwnBlocks()
    {
        for (long block = 0; block < bat.DataBlocks; block++)
        {
            if (bat.PayloadState(block) is VhdxBlockState.FullyPresent or VhdxBlockState.PartiallyPresent)
            {
                long start = block * blockSize;
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
