using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.Disks.Vmdk;

/// <summary>One extent line of a descriptor: <c>RW 204800 SPARSE "disk-s001.vmdk"</c>.</summary>
public sealed record VmdkExtentLine(string Access, ulong Sectors, string Type, string? FileName, ulong Offset);

/// <summary>The text descriptor of a VMDK (embedded in a sparse file or a file of its own).</summary>
public sealed partial record VmdkDescriptor
{
    public const int MaxLength = 1024 * 1024;

    public string CreateType { get; init; } = string.Empty;

    public string? ParentCid { get; init; }

    public string? ParentFileNameHint { get; init; }

    public IReadOnlyList<VmdkExtentLine> Extents { get; init; } = [];

    public bool HasParent => ParentCid is not null && !ParentCid.Equals("ffffffff", StringComparison.OrdinalIgnoreCase);

    /// <summary>True when <paramref name="head"/> starts like a descriptor (qemu's probe accepts the same spellings).</summary>
    public static bool LooksLikeDescriptor(ReadOnlySpan<byte> head)
    {
        var text = head[..Math.Min(head.Length, 64)];
        int start = 0;
        while (start < text.Length && text[start] is (byte)'\r' or (byte)'\n' or (byte)' ')
        {
            start++;
        }
        text = text[start..];
        return text.StartsWith("# Disk DescriptorFile"u8) || text.StartsWith("# Disk Descriptor File"u8) || text.StartsWith("# disk DescriptorFile"u8);
    }

    public static VmdkDescriptor Parse(ReadOnlySpan<byte> bytes, string path)
    {
        int nul = bytes.IndexOf((byte)0);
        string text = Encoding.UTF8.GetString(nul >= 0 ? bytes[..nul] : bytes);
        string? createType = null;
        string? parentCid = null;
        string? parentHint = null;
        var extents = new List<VmdkExtentLine>();
        foreach (string rawLine in text.Split('\n'))
        {
            string line = rawLine.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var extent = ExtentLine().Match(line);
            if (extent.Success)
            {
                if (!ulong.TryParse(extent.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong sectors))
                {
                    throw Invalid(path, $"extent size '{extent.Groups[2].Value}' is not a number of sectors");
                }
                ulong offset = 0;
                if (extent.Groups[5].Success && !ulong.TryParse(extent.Groups[5].Value, NumberStyles.None, CultureInfo.InvariantCulture, out offset))
                {
                    throw Invalid(path, $"extent offset '{extent.Groups[5].Value}' is not a number of sectors");
                }
                extents.Add(new VmdkExtentLine(extent.Groups[1].Value, sectors, extent.Groups[3].Value.ToUpperInvariant(),
                    extent.Groups[4].Success ? extent.Groups[4].Value : null, offset));
                continue;
            }
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }
            string key = line[..eq].Trim();
            string value = line[(eq + 1)..].Trim().Trim('"');
            switch (key)
            {
                case "createType":
                    createType = value;
                    break;
                case "parentCID":
                    parentCid = value;
                    break;
                case "parentFileNameHint":
                    parentHint = value;
                    break;
            }
        }
        if (createType is null)
        {
            throw Invalid(path, "it has no createType");
        }
        if (extents.Count == 0)
        {
            throw Invalid(path, "it names no extents");
        }
        return new VmdkDescriptor { CreateType = createType, ParentCid = parentCid, ParentFileNameHint = parentHint, Extents = extents };
    }

    private static LinuxImageException Invalid(string path, string what) => new(DiagnosticCatalog.VmdkDescriptorInvalid, path, path, what);

    [GeneratedRegex("^(RW|RDONLY|NOACCESS)\\s+(\\S+)\\s+(\\w+)(?:\\s+\"([^\"]*)\"(?:\\s+(\\S+))?)?", RegexOptions.CultureInvariant)]
    private static partial Regex ExtentLine();
}
