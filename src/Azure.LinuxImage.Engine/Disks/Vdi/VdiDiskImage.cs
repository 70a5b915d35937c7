using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vdi;

/// <summary>
/// A VDI (fixed, dynamic or differencing): a block map of 32-bit entries, with special values for
/// blocks never written (the parent, or zeros) and blocks discarded to zeros.
/// </summary>
public sealed class VdiDiskImage : IDiskImage, IBlockMapper
{
    public const uint BlockUnallocated = 0xFFFFFFFF;
    public const uint BlockZero = 0xFFFFFFFE;

    private const long MaxBlockSize = 256L * 1024 * 1024;

    private readonly SourceFile file;
    private readonly uint[] blockMap;
    private readonly IDiskImage? parent;
    private readonly long blockSize;
    private readonly long blockStride;
    private readonly long dataStart;

    private VdiDiskImage(SourceFile file, VdiHeader header, uint[] blockMap, IDiskImage? parent)
    {
        this.file = file;
        this.blockMap = blockMap;
        this.parent = parent;
        Header = header;
        blockSize = header.BlockSize;
        blockStride = (long)header.BlockSize + header.BlockExtra;
        dataStart = header.DataOffset + (long)header.BlockExtra;
        Length = (long)header.DiskSize;
        Warnings = parent?.Warnings ?? [];
    }

    public VdiHeader Header { get; }

    public DiskFormat Format => DiskFormat.Vdi;

    public string Path => file.Path;

    public long Length { get; }

    public IReadOnlyList<Diagnostic> Warnings { get; }

    public IReadOnlyList<string> Files => parent is null ? [file.Path] : [file.Path, .. parent.Files];

    internal static VdiDiskImage Open(SourceFile file, DiskOpenContext context)
    {
        string path = file.Path;
        LinuxImageException Corrupt(string what) => new(DiagnosticCatalog.DiskCorrupt, path, path, what);
        var header = VdiHeader.Read(file);
        if (header.ImageType is not (VdiImageType.Dynamic or VdiImageType.Fixed or VdiImageType.Differencing))
        {
            throw new LinuxImageException(DiagnosticCatalog.UnsupportedDiskFeature, path, path, $"VDI image type {(uint)header.ImageType} (dynamic 1, fixed 2 and differencing 4 are read)");
        }
        if (header.BlockSize < 512 || header.BlockSize > MaxBlockSize || (header.BlockSize & (header.BlockSize - 1)) != 0)
        {
            throw Corrupt($"block size {header.BlockSize} is not a power of two between 512 bytes and 256 MiB");
        }
        if (header.BlockExtra > MaxBlockSize)
        {
            throw Corrupt($"{header.BlockExtra} extra bytes per block is implausible");
        }
        if (header.DiskSize > long.MaxValue / 2 || (ulong)header.Blocks * header.BlockSize < header.DiskSize)
        {
            throw Corrupt($"the disk size {header.DiskSize} does not fit in {header.Blocks} blocks of {header.BlockSize} bytes");
        }
        long mapBytes = header.Blocks * 4L;
        // The map must lie in the file: this bounds the allocation by the file's real size.
        if (header.BlockMapOffset < 0x48 || header.BlockMapOffset > file.Length - mapBytes)
        {
            throw Corrupt($"the block map ({mapBytes} bytes at offset {header.BlockMapOffset}) lies outside the file ({file.Length} bytes)");
        }
        if (header.DataOffset < header.BlockMapOffset + mapBytes && header.Blocks > 0)
        {
            throw Corrupt($"the data area (offset {header.DataOffset}) overlaps the block map");
        }
        var raw = new byte[mapBytes];
        file.ReadExactly(header.BlockMapOffset, raw, "VDI block map");
        var map = new uint[header.Blocks];
        long stride = (long)header.BlockSize + header.BlockExtra;
        for (int i = 0; i < map.Length; i++)
        {
            uint entry = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(i * 4));
            map[i] = entry;
            if (entry is BlockUnallocated or BlockZero)
            {
                continue;
            }
            if (entry >= header.Blocks)
            {
                throw Corrupt($"block map entry {i} names data block {entry}, but the image has only {header.Blocks}");
            }
            // Data blocks are read lazily, so one missing from a truncated file is reported then.
            if (header.DataOffset + (entry * stride) >= file.Length)
            {
                throw new LinuxImageException(DiagnosticCatalog.DiskTruncated, path, path,
                    $"block map entry {i} names data block {entry} at offset {header.DataOffset + (entry * stride)}, past the end of the file ({file.Length} bytes)");
            }
        }

        IDiskImage? parent = null;
        if (header.ImageType == VdiImageType.Differencing)
        {
            parent = OpenParent(file, header, context);
        }
        return new VdiDiskImage(file, header, map, parent);
    }

    /// <summary>
    /// A VDI names its parent only by UUID (VirtualBox finds it in its media registry), so the
    /// parent is looked for among the VDI files next to the child.
    /// </summary>
    private static IDiskImage OpenParent(SourceFile file, VdiHeader header, DiskOpenContext context)
    {
        string folder = System.IO.Path.GetDirectoryName(file.Path) ?? ".";
        var candidates = new List<string>();
        foreach (string sibling in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal).Take(10_000))
        {
            if (sibling == file.Path)
            {
                continue;
            }
            try
            {
                using var probe = SourceFile.Open(sibling);
                if (probe.Length < VdiHeader.Size)
                {
                    continue;
                }
                var head = new byte[VdiHeader.Size];
                probe.ReadExactly(0, head, "VDI header");
                if (VdiHeader.HasSignature(head) && VdiHeader.Parse(head).ImageId == header.LinkId)
                {
                    candidates.Add(sibling);
                    break;
                }
            }
            catch (LinuxImageException)
            {
                // An unreadable neighbour is not the parent.
            }
        }
        if (candidates.Count == 0)
        {
            throw new LinuxImageException(DiagnosticCatalog.ParentDiskMissing, file.Path, file.Path,
                $"no VDI in '{folder}' has the parent's UUID {header.LinkId}; put the parent disk (exported from VirtualBox's media manager) next to the child, or clone the disk to a standalone one (VBoxManage clonemedium)");
        }
        var parent = context.OpenParent(file.Path, candidates, DiskFormat.Vdi);
        if (parent.Length != (long)header.DiskSize)
        {
            string parentPath = parent.Path;
            long parentLength = parent.Length;
            parent.Dispose();
            throw new LinuxImageException(DiagnosticCatalog.ParentChainInvalid, file.Path, file.Path,
                $"the parent '{parentPath}' is {parentLength} bytes but the child is {header.DiskSize} bytes");
        }
        return parent;
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
        long length = Math.Min(blockSize - inBlock, max);
        uint entry = blockMap[block];
        return entry switch
        {
            BlockUnallocated => new MappedRange(parent is null ? MappedKind.Zero : MappedKind.Parent, length),
            BlockZero => new MappedRange(MappedKind.Zero, length),
            _ => new MappedRange(MappedKind.Data, length, file, dataStart + (entry * blockStride) + inBlock),
        };
    }

    void IBlockMapper.ReadParent(long offset, Span<byte> target) => MappedRead.ReadClipped(parent, offset, target);

    void IBlockMapper.ReadSpecial(MappedRange range, long offset, Span<byte> target) =>
        throw new InvalidOperationException("VDI has no encoded blocks.");

    public IEnumerable<DiskExtent> GetAllocatedExtents()
    {
        var own = DiskExtents.Coalesce(OwnBlocks());
        return parent is null ? own : DiskExtents.Union(own, parent.GetAllocatedExtents());
    }

    private IEnumerable<DiskExtent> OwnBlocks()
    {
        for (long block = 0; block < blockMap.Length; block++)
        {
            long start = block * blockSize;
            if (start >= Length)
            {
                yield break;
            }
            if (blockMap[block] is not (BlockUnallocated or BlockZero))
            {
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
