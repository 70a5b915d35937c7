using System.Buffers.Binary;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vhdx;

/// <summary>Payload and sector-bitmap block states of a BAT entry (low 3 bits).</summary>
public enum VhdxBlockState
{
    NotPresent = 0,
    Undefined = 1,
    Zero = 2,
    Unmapped = 3,
    FullyPresent = 6,
    PartiallyPresent = 7,
}

/// <summary>
/// The block allocation table: payload entries interleaved with one sector-bitmap entry after each
/// chunk of <see cref="ChunkRatio"/> payload blocks.
/// </summary>
public sealed class VhdxBat
{
    private const ulong OffsetMask = ~((1UL << 20) - 1);

    private readonly ulong[] entries;

    private VhdxBat(ulong[] entries, long chunkRatio, long dataBlocks)
    {
        this.entries = entries;
        ChunkRatio = chunkRatio;
        DataBlocks = dataBlocks;
    }

    public long ChunkRatio { get; }

    public long DataBlocks { get; }

    public static VhdxBat Read(VhdxFileView file, VhdxRegion region, VhdxMetadata metadata, IReadOnlyList<VhdxRegion> regions)
    {
        string path = file.Path;
        long chunkRatio = (1L << 23) * metadata.LogicalSectorSize / metadata.BlockSize;
        long dataBlocks = (metadata.VirtualSize + metadata.BlockSize - 1) / metadata.BlockSize;
        long bitmapBlocks = (dataBlocks + chunkRatio - 1) / chunkRatio;
        long total = metadata.HasParent ? bitmapBlocks * (chunkRatio + 1) : dataBlocks + ((dataBlocks - 1) / chunkRatio);
        if (dataBlocks == 0)
        {
            total = 0;
        }
        // The region lies in the file (checked with the region table), so this allocation is bounded by the file.
        if (total * 8 > region.Length)
        {
            throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, path, path,
                $"the BAT region ({region.Length} bytes) is too small for the {total} entries a disk of {metadata.VirtualSize} bytes needs");
        }
        var raw = new byte[total * 8];
        file.ReadExactly(region.Offset, raw, "VHDX BAT");
        var entries = new ulong[total];
        for (long i = 0; i < total; i++)
        {
            entries[i] = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan((int)(i * 8)));
        }
        var bat = new VhdxBat(entries, chunkRatio, dataBlocks);
        bat.Validate(file, metadata, regions);
        return bat;
    }

    public VhdxBlockState PayloadState(long block) => (VhdxBlockState)(entries[PayloadIndex(block)] & 7);

    public long PayloadOffset(long block) => (long)(entries[PayloadIndex(block)] & OffsetMask);

    public VhdxBlockState BitmapState(long chunk) => (VhdxBlockState)(entries[BitmapIndex(chunk)] & 7);

    public long BitmapOffset(long chunk) => (long)(entries[BitmapIndex(chunk)] & OffsetMask);

    private long PayloadIndex(long block) => block + (block / ChunkRatio);

    private long BitmapIndex(long chunk) => (chunk * (ChunkRatio + 1)) + ChunkRatio;

    private void Validate(VhdxFileView file, VhdxMetadata metadata, IReadOnlyList<VhdxRegion> regions)
    {
        string path = file.Path;
        void CheckBlock(string what, long offset, long length)
        {
            string? fault = null;
            if (offset < VhdxFile.HeaderAreaSize)
            {
                fault = "into the headers";
            }
            else if (offset > file.Length - length)
            {
                fault = $"past the end of the file ({file.Length} bytes)";
            }
            else if (regions.Any(r => offset < r.Offset + r.Length && offset + length > r.Offset))
            {
                fault = "into the BAT or metadata region";
            }
            if (fault is not null)
            {
                throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, path, path, $"the BAT entry for {what} points {fault} (offset {offset})");
            }
        }

        for (long block = 0; block < DataBlocks; block++)
        {
            var state = PayloadState(block);
            switch (state)
            {
                case VhdxBlockState.NotPresent or VhdxBlockState.Undefined or VhdxBlockState.Zero or VhdxBlockState.Unmapped:
                    break;
                case VhdxBlockState.FullyPresent:
                    CheckBlock($"block {block}", PayloadOffset(block), metadata.BlockSize);
                    break;
                case VhdxBlockState.PartiallyPresent when metadata.HasParent:
                    CheckBlock($"block {block}", PayloadOffset(block), metadata.BlockSize);
                    long chunk = block / ChunkRatio;
                    if (BitmapState(chunk) != VhdxBlockState.FullyPresent)
                    {
                        throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, path, path,
                            $"block {block} is partially present but its sector bitmap (chunk {chunk}) is not");
                    }
                    CheckBlock($"the sector bitmap of chunk {chunk}", BitmapOffset(chunk), VhdxFile.Alignment);
                    break;
                default:
                    throw new LinuxImageException(DiagnosticCatalog.DiskCorrupt, path, path,
                        $"the BAT entry for block {block} has state {(int)state}, which is not valid {(metadata.HasParent ? "" : "in a disk without a parent")}");
            }
        }
    }
}
