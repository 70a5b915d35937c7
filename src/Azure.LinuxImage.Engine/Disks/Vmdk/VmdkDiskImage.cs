using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vmdk;

/// <summary>
/// A VMDK: a descriptor listing extents laid end to end (sparse, flat or zero), with an optional
/// parent for delta disks (grains never written read from the parent).
/// </summary>
public sealed class VmdkDiskImage : IDiskImage, IBlockMapper
{
    private const int MaxExtents = 4096;

    private readonly List<SourceFile> files;
    private readonly Extent[] extents;
    private readonly IDiskImage? parent;

    private VmdkDiskImage(string path, VmdkDescriptor descriptor, List<SourceFile> files, Extent[] extents, long length, IDiskImage? parent)
    {
        Path = path;
        Descriptor = descriptor;
        this.files = files;
        this.extents = extents;
        this.parent = parent;
        Length = length;
        Warnings = parent?.Warnings ?? [];
    }

    private enum ExtentKind
    {
        Flat,
        Sparse,
        Zero,
    }

    private sealed record Extent(ExtentKind Kind, long Start, long Length, SourceFile? File, long FileOffset, VmdkSparseExtent? Sparse);

    public VmdkDescriptor Descriptor { get; }

    public DiskFormat Format => DiskFormat.Vmdk;

    public string Path { get; }

    public long Length { get; }

    public IReadOnlyList<Diagnostic> Warnings { get; }

    public IReadOnlyList<string> Files => parent is null ? [.. files.Select(f => f.Path)] : [.. files.Select(f => f.Path), .. parent.Files];

    internal static VmdkDiskImage Open(SourceFile file, DiskOpenContext context)
    {
        string path = file.Path;
        var files = new List<SourceFile> { file };
        try
        {
            VmdkDescriptor descriptor;
            VmdkSparseHeader? ownHeader = null;
            var head = new byte[Math.Min(file.Length, 512)];
            file.ReadExactly(0, head, "VMDK header");
            if (VmdkSparseHeader.HasMagic(head))
            {
                ownHeader = VmdkSparseExtent.ReadHeader(file);
                var first = VmdkSparseHeader.Parse(head);
                if (first.DescriptorOffset != 0 && first.DescriptorSize != 0)
                {
                    if (first.DescriptorSize > VmdkDescriptor.MaxLength / 512 || first.DescriptorOffset > (ulong)file.Length / 512)
                    {
                        throw new LinuxImageException(DiagnosticCatalog.VmdkDescriptorInvalid, path, path,
                            $"the embedded descriptor ({first.DescriptorSize} sectors at sector {first.DescriptorOffset}) is too large or outside the file");
                    }
                    var text = new byte[first.DescriptorSize * 512];
                    file.ReadExactly((long)first.DescriptorOffset * 512, text, "VMDK embedded descriptor");
                    descriptor = VmdkDescriptor.Parse(text, path);
                }
                else
                {
                    // A bare sparse extent (e.g. one file of a split disk opened directly): one extent, itself.
                    descriptor = new VmdkDescriptor
                    {
                        CreateType = "monolithicSparse",
                        Extents = [new VmdkExtentLine("RW", ownHeader.Capacity, "SPARSE", System.IO.Path.GetFileName(path), 0)],
                    };
                }
            }
            else
            {
                if (file.Length > VmdkDescriptor.MaxLength)
                {
                    throw new LinuxImageException(DiagnosticCatalog.VmdkDescriptorInvalid, path, path, $"a descriptor file of {file.Length} bytes is too large");
                }
                var text = new byte[file.Length];
                file.ReadExactly(0, text, "VMDK descriptor");
                descriptor = VmdkDescriptor.Parse(text, path);
            }

            if (descriptor.Extents.Count > MaxExtents)
            {
                throw new LinuxImageException(DiagnosticCatalog.VmdkDescriptorInvalid, path, path, $"{descriptor.Extents.Count} extents (at most {MaxExtents})");
            }
            string folder = System.IO.Path.GetDirectoryName(path) ?? ".";
            var extents = new List<Extent>();
            long start = 0;
            foreach (var line in descriptor.Extents)
            {
                if (line.Sectors > (ulong)((long.MaxValue / 4) - start) / 512)
                {
                    throw new LinuxImageException(DiagnosticCatalog.VmdkDescriptorInvalid, path, path, $"the extents add up to more than 2^61 bytes");
                }
                long length = (long)line.Sectors * 512;
                switch (line.Type)
                {
                    case "ZERO":
                        extents.Add(new Extent(ExtentKind.Zero, start, length, null, 0, null));
                        break;
                    case "FLAT" or "VMFS":
                    {
                        var extentFile = OpenExtentFile(path, folder, line, files);
                        if (line.Offset > (ulong)extentFile.Length / 512 || (long)line.Offset * 512 > extentFile.Length - length)
                        {
                            throw new LinuxImageException(DiagnosticCatalog.DiskTruncated, extentFile.Path, extentFile.Path,
                                $"the flat extent needs {length} bytes from sector {line.Offset} but the file has {extentFile.Length} bytes");
                        }
                        extents.Add(new Extent(ExtentKind.Flat, start, length, extentFile, (long)line.Offset * 512, null));
                        break;
                    }
                    case "SPARSE":
                    {
                        var extentFile = OpenExtentFile(path, folder, line, files);
                        var header = ReferenceEquals(extentFile, file) && ownHeader is not null ? ownHeader : ReadSparseHeader(extentFile);
                        extents.Add(new Extent(ExtentKind.Sparse, start, length, extentFile, 0, VmdkSparseExtent.Open(extentFile, header)));
                        break;
                    }
                    default:
                        throw new LinuxImageException(DiagnosticCatalog.UnsupportedDiskFeature, path, path,
                            $"VMDK extent type {line.Type} (ESX-hosted or raw device extents); export the disk as a monolithic or streamOptimized VMDK");
                }
                start += length;
            }

            IDiskImage? parent = null;
            if (descriptor.HasParent)
            {
                // VMware writes absolute hints (often Windows paths): the file name next to the child is the fallback.
                string hint = descriptor.ParentFileNameHint ?? string.Empty;
                parent = context.OpenParent(path, [hint, System.IO.Path.GetFileName(hint.Replace('\\', '/'))]);
            }
            return new VmdkDiskImage(path, descriptor, files, [.. extents], start, parent);
        }
        catch
        {
            // The caller disposes the descriptor's own file; the extent files are ours.
            foreach (var f in files.Skip(1))
            {
                f.Dispose();
            }
            throw;
        }
    }

    private static VmdkSparseHeader ReadSparseHeader(SourceFile file)
    {
        var head = new byte[Math.Min(file.Length, 512)];
        file.ReadExactly(0, head, "VMDK sparse header");
        if (!VmdkSparseHeader.HasMagic(head))
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, file.Path, file.Path, "the sparse extent has no KDMV header");
        }
        return VmdkSparseExtent.ReadHeader(file);
    }

    private static SourceFile OpenExtentFile(string descriptorPath, string folder, VmdkExtentLine line, List<SourceFile> files)
    {
        if (string.IsNullOrEmpty(line.FileName))
        {
            throw new LinuxImageException(DiagnosticCatalog.VmdkDescriptorInvalid, descriptorPath, descriptorPath, $"a {line.Type} extent names no file");
        }
        string full = System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, line.FileName.Replace('\\', '/')));
        var existing = files.Find(f => f.Path == full);
        if (existing is not null)
        {
            return existing;
        }
        if (!System.IO.File.Exists(full))
        {
            throw new LinuxImageException(DiagnosticCatalog.VmdkExtentMissing, descriptorPath, descriptorPath, line.FileName);
        }
        var opened = SourceFile.Open(full);
        files.Add(opened);
        return opened;
    }

    public void ReadAt(long offset, Span<byte> buffer)
    {
        this.CheckRange(offset, buffer.Length);
        MappedRead.Read(this, offset, buffer);
    }

    private Extent ExtentAt(long offset)
    {
        int lo = 0;
        int hi = extents.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (extents[mid].Start <= offset)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return extents[lo];
    }

    MappedRange IBlockMapper.Map(long offset, long max)
    {
        var extent = ExtentAt(offset);
        long inExtent = offset - extent.Start;
        long toEnd = Math.Min(extent.Length - inExtent, max);
        switch (extent.Kind)
        {
            case ExtentKind.Zero:
                return new MappedRange(MappedKind.Zero, toEnd);
            case ExtentKind.Flat:
                return new MappedRange(MappedKind.Data, toEnd, extent.File, extent.FileOffset + inExtent);
        }
        var sparse = extent.Sparse!;
        long inGrain = inExtent % sparse.GrainBytes;
        long length = Math.Min(sparse.GrainBytes - inGrain, toEnd);
        if (inExtent >= sparse.CapacityBytes)
        {
            return new MappedRange(MappedKind.Zero, toEnd);
        }
        uint entry = sparse.GrainEntry(inExtent);
        return entry switch
        {
            VmdkSparseExtent.GrainUnallocated => new MappedRange(parent is null ? MappedKind.Zero : MappedKind.Parent, length),
            VmdkSparseExtent.GrainZeroed => new MappedRange(MappedKind.Zero, length),
            _ when sparse.Header.Compressed => new MappedRange(MappedKind.Special, length, extent.File, entry, (ulong)Array.IndexOf(extents, extent)),
            _ => new MappedRange(MappedKind.Data, length, extent.File, ((long)entry * 512) + inGrain),
        };
    }

    void IBlockMapper.ReadParent(long offset, Span<byte> target) => MappedRead.ReadClipped(parent, offset, target);

    void IBlockMapper.ReadSpecial(MappedRange range, long offset, Span<byte> target)
    {
        var extent = extents[(int)range.Tag];
        var sparse = extent.Sparse!;
        long inExtent = offset - extent.Start;
        long grainStart = inExtent - (inExtent % sparse.GrainBytes);
        // The last grain of an extent may decompress to less than a full grain; it must cover what the extent uses.
        long grainLength = Math.Min(sparse.GrainBytes, extent.Length - grainStart);
        sparse.ReadCompressed((uint)range.Host, inExtent - grainStart, grainLength, target);
    }

    public IEnumerable<DiskExtent> GetAllocatedExtents()
    {
        var own = DiskExtents.Coalesce(OwnExtents());
        return parent is null ? own : DiskExtents.Union(own, DiskExtents.Clip(parent.GetAllocatedExtents(), Length));
    }

    private IEnumerable<DiskExtent> OwnExtents()
    {
        foreach (var extent in extents)
        {
            switch (extent.Kind)
            {
                case ExtentKind.Flat:
                    // A flat extent is a plain file: its holes are the disk's holes.
                    foreach (var (offset, length) in extent.File!.DataRanges(extent.FileOffset, extent.FileOffset + extent.Length))
                    {
                        yield return new DiskExtent(extent.Start + offset - extent.FileOffset, length);
                    }
                    break;
                case ExtentKind.Sparse:
                    foreach (var (offset, length) in extent.Sparse!.AllocatedGrains())
                    {
                        if (offset < extent.Length)
                        {
                            yield return new DiskExtent(extent.Start + offset, Math.Min(length, extent.Length - offset));
                        }
                    }
                    break;
            }
        }
    }

    public void Dispose()
    {
        parent?.Dispose();
        foreach (var f in files)
        {
            f.Dispose();
        }
    }
}
