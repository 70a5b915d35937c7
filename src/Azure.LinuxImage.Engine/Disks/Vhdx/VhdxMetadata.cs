using System.Buffers.Binary;
using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.IO;

namespace Azure.LinuxImage.Engine.Disks.Vhdx;

/// <summary>The metadata items a reader needs: block size, sector size, virtual size, parent locator.</summary>
public sealed record VhdxMetadata
{
    public const long MinBlockSize = 1024 * 1024;
    public const long MaxBlockSize = 256L * 1024 * 1024;
    public const long MaxVirtualSize = 64L * 1024 * 1024 * 1024 * 1024;

    private const ulong Signature = 0x617461646174656D; // "metadata"
    private const int TableSize = 64 * 1024;
    private const int MaxEntries = 2047;
    private const uint FlagRequired = 4;

    private static readonly Guid FileParameters = new("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    private static readonly Guid VirtualDiskSize = new("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    private static readonly Guid VirtualDiskId = new("BECA12AB-B2E6-4523-93EF-C309E000C746");
    private static readonly Guid LogicalSectorSizeItem = new("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
    private static readonly Guid PhysicalSectorSizeItem = new("CDA348C7-445D-4471-9CC9-E9885251C556");
    private static readonly Guid ParentLocatorItem = new("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");
    private static readonly Guid VhdxParentLocatorType = new("B04AEFB7-D19E-4A81-B789-25B8E9445913");

    public long BlockSize { get; init; }

    public bool LeaveBlocksAllocated { get; init; }

    public bool HasParent { get; init; }

    public long VirtualSize { get; init; }

    public int LogicalSectorSize { get; init; }

    public int PhysicalSectorSize { get; init; }

    public Guid DiskId { get; init; }

    /// <summary>The parent locator's key/value pairs (parent_linkage, relative_path, absolute_win32_path, ...).</summary>
    public IReadOnlyDictionary<string, string> ParentLocator { get; init; } = new Dictionary<string, string>();

    public static VhdxMetadata Read(VhdxFileView file, VhdxRegion region)
    {
        string path = file.Path;
        LinuxImageException Corrupt(string what) => new(DiagnosticCatalog.DiskCorrupt, path, path, "VHDX metadata: " + what);

        var table = new byte[TableSize];
        file.ReadExactly(region.Offset, table, "VHDX metadata table");
        if (BinaryPrimitives.ReadUInt64LittleEndian(table) != Signature)
        {
            throw Corrupt("no 'metadata' signature at the start of the metadata region");
        }
        int count = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(10));
        if (count > MaxEntries)
        {
            throw Corrupt($"{count} entries (at most {MaxEntries})");
        }
        var items = new Dictionary<Guid, byte[]>();
        for (int i = 0; i < count; i++)
        {
            var e = table.AsSpan(32 + (i * 32), 32);
            var id = new Guid(e[..16]);
            uint offset = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(e[20..]);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(e[24..]);
            bool known = id == FileParameters || id == VirtualDiskSize || id == VirtualDiskId || id == LogicalSectorSizeItem
                || id == PhysicalSectorSizeItem || id == ParentLocatorItem;
            if (!known)
            {
                if ((flags & FlagRequired) != 0)
                {
                    throw new LinuxImageException(DiagnosticCatalog.UnsupportedDiskFeature, path, path, $"required VHDX metadata item {id}");
                }
                continue;
            }
            if (length == 0 || offset < TableSize || offset > region.Length || length > region.Length - offset || length > 1024 * 1024)
            {
                throw Corrupt($"item {id} ({length} bytes at offset {offset}) lies outside the metadata region");
            }
            var data = new byte[length];
            file.ReadExactly(region.Offset + offset, data, "VHDX metadata item");
            items[id] = data;
        }

        byte[] Item(Guid id, string name, int minLength) =>
            items.TryGetValue(id, out var d) && d.Length >= minLength ? d : throw Corrupt($"the {name} item is missing or too short");

        var fileParameters = Item(FileParameters, "file parameters", 8);
        long blockSize = BinaryPrimitives.ReadUInt32LittleEndian(fileParameters);
        uint fpFlags = BinaryPrimitives.ReadUInt32LittleEndian(fileParameters.AsSpan(4));
        if (blockSize < MinBlockSize || blockSize > MaxBlockSize || (blockSize & (blockSize - 1)) != 0)
        {
            throw Corrupt($"block size {blockSize} is not a power of two between 1 MiB and 256 MiB");
        }
        int logical = (int)BinaryPrimitives.ReadUInt32LittleEndian(Item(LogicalSectorSizeItem, "logical sector size", 4));
        if (logical is not (512 or 4096))
        {
            throw Corrupt($"logical sector size {(uint)logical} is neither 512 nor 4096");
        }
        int physical = (int)BinaryPrimitives.ReadUInt32LittleEndian(Item(PhysicalSectorSizeItem, "physical sector size", 4));
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(Item(VirtualDiskSize, "virtual disk size", 8));
        if (size > MaxVirtualSize || size % (ulong)logical != 0)
        {
            throw Corrupt($"virtual size {size} is over 64 TiB or not a multiple of the {logical}-byte logical sector");
        }
        bool hasParent = (fpFlags & 2) != 0;
        var locator = hasParent ? ParseParentLocator(Item(ParentLocatorItem, "parent locator", 20), Corrupt) : new Dictionary<string, string>();
        return new VhdxMetadata
        {
            BlockSize = blockSize,
            LeaveBlocksAllocated = (fpFlags & 1) != 0,
            HasParent = hasParent,
            VirtualSize = (long)size,
            LogicalSectorSize = logical,
            PhysicalSectorSize = physical,
            DiskId = items.TryGetValue(VirtualDiskId, out var idBytes) && idBytes.Length >= 16 ? new Guid(idBytes.AsSpan(0, 16)) : Guid.Empty,
            ParentLocator = locator,
        };
    }

    private static Dictionary<string, string> ParseParentLocator(byte[] item, Func<string, LinuxImageException> corrupt)
    {
        var type = new Guid(item.AsSpan(0, 16));
        if (type != VhdxParentLocatorType)
        {
            throw corrupt($"parent locator type {type} is not the VHDX locator");
        }
        int count = BinaryPrimitives.ReadUInt16LittleEndian(item.AsSpan(18));
        if (20L + (count * 12L) > item.Length)
        {
            throw corrupt($"the parent locator's {count} entries do not fit in its {item.Length} bytes");
        }
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < count; i++)
        {
            var e = item.AsSpan(20 + (i * 12), 12);
            uint keyOffset = BinaryPrimitives.ReadUInt32LittleEndian(e);
            uint valueOffset = BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
            int keyLength = BinaryPrimitives.ReadUInt16LittleEndian(e[8..]);
            int valueLength = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
            if (keyOffset > item.Length - keyLength || valueOffset > item.Length - valueLength)
            {
                throw corrupt($"parent locator entry {i} lies outside the item");
            }
            string key = Encoding.Unicode.GetString(item, (int)keyOffset, keyLength);
            result[key] = Encoding.Unicode.GetString(item, (int)valueOffset, valueLength);
        }
        return result;
    }
}
