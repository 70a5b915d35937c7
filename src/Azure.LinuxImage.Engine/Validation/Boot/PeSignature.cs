using System.Buffers.Binary;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Azure.LinuxImage.Engine.Validation.Boot;

/// <summary>The machine a PE (UEFI) image is built for.</summary>
public enum BootArchitecture
{
    Unknown,
    X64,
    Arm64,
    X86,
}

/// <summary>One certificate carried in an Authenticode signature.</summary>
public sealed record SignatureCertificate(string Subject, string Issuer);

/// <summary>
/// What a PE image says about itself: its machine and its Authenticode signature (the
/// WIN_CERTIFICATE entries the security data directory points to, each a PKCS#7 SignedData). Only
/// names are read: this tells an unsigned or self-signed loader from one signed through Microsoft's
/// UEFI CA, which is what Secure Boot's db checks; it does not verify the signature's cryptography.
/// </summary>
public sealed class PeSignature
{
    private const ushort WinCertTypePkcsSignedData = 0x0002;

    private PeSignature(BootArchitecture machine, bool signed, IReadOnlyList<SignatureCertificate> certificates, string? problem)
    {
        Machine = machine;
        Signed = signed;
        Certificates = certificates;
        Problem = problem;
    }

    public BootArchitecture Machine { get; }

    /// <summary>The security directory holds at least one PKCS#7 signature.</summary>
    public bool Signed { get; }

    public IReadOnlyList<SignatureCertificate> Certificates { get; }

    /// <summary>Why the signature area could not be read (the image is then treated as unsigned), or null.</summary>
    public string? Problem { get; }

    /// <summary>Issuer common names of Microsoft's UEFI CAs for third-party loaders (shim): 2011 and its 2023 successor.</summary>
    public static IReadOnlyList<string> MicrosoftUefiCas { get; } = ["Microsoft Corporation UEFI CA 2011", "Microsoft UEFI CA 2023"];

    /// <summary>A certificate in the signature is issued by one of Microsoft's UEFI CAs.</summary>
    public bool ChainsToMicrosoftUefiCa => Certificates.Any(c => MicrosoftUefiCas.Any(ca => c.Issuer.Contains("CN=" + ca, StringComparison.Ordinal)));

    /// <summary>Null when <paramref name="image"/> is not a PE image.</summary>
    public static PeSignature? Read(ReadOnlySpan<byte> image)
    {
        if (image.Length < 0x40 || image[0] != (byte)'M' || image[1] != (byte)'Z')
        {
            return null;
        }
        int pe = BinaryPrimitives.ReadInt32LittleEndian(image[0x3C..]);
        if (pe < 0x40 || pe > image.Length - 24 || !image.Slice(pe, 4).SequenceEqual("PE\0\0"u8))
        {
            return null;
        }
        ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(image[(pe + 4)..]);
        int optionalSize = BinaryPrimitives.ReadUInt16LittleEndian(image[(pe + 20)..]);
        var arch = machine switch
        {
            0x8664 => BootArchitecture.X64,
            0xAA64 => BootArchitecture.Arm64,
            0x014C => BootArchitecture.X86,
            _ => BootArchitecture.Unknown,
        };
        int optional = pe + 24;
        if (optionalSize < 2 || optional > image.Length - optionalSize)
        {
            return new PeSignature(arch, false, [], "the optional header lies outside the file");
        }
        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(image[optional..]);
        int directories = magic switch { 0x10B => optional + 96, 0x20B => optional + 112, _ => -1 };
        if (directories < 0)
        {
            return new PeSignature(arch, false, [], $"unknown optional header magic 0x{magic:X}");
        }
        int count = BinaryPrimitives.ReadInt32LittleEndian(image[(directories - 4)..]);
        // The security directory is entry 4; its address is a file offset, not an RVA.
        if (count <= 4 || directories + (5 * 8) > optional + optionalSize)
        {
            return new PeSignature(arch, false, [], null);
        }
        uint offset = BinaryPrimitives.ReadUInt32LittleEndian(image[(directories + 32)..]);
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(image[(directories + 36)..]);
        if (offset == 0 || size == 0)
        {
            return new PeSignature(arch, false, [], null);
        }
        if (offset > image.Length || size > image.Length - offset)
        {
            return new PeSignature(arch, false, [], $"the security directory ({offset}+{size}) lies outside the file of {image.Length} bytes");
        }
        var certs = new List<SignatureCertificate>();
        bool signed = false;
        string? problem = null;
        var area = image.Slice((int)offset, (int)size);
        // WIN_CERTIFICATE entries, each 8-byte aligned; the count is bounded by the area's size.
        while (area.Length >= 8)
        {
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(area);
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(area[6..]);
            if (length < 8 || length > area.Length)
            {
                problem = $"a WIN_CERTIFICATE of {length} bytes does not fit the security directory";
                break;
            }
            if (type == WinCertTypePkcsSignedData)
            {
                try
                {
                    certs.AddRange(ReadPkcs7Certificates(area[8..(int)length]));
                    signed = true;
                }
                catch (Exception e) when (e is AsnContentException or CryptographicException)
                {
                    problem = $"its PKCS#7 signature cannot be read ({e.Message})";
                }
            }
            int next = (int)((length + 7) & ~7u);
            if (next >= area.Length)
            {
                break;
            }
            area = area[next..];
        }
        return new PeSignature(arch, signed, certs, problem);
    }

    /// <summary>ContentInfo { signedData, [0] SignedData { version, digestAlgorithms, encapContentInfo, [0] certificates, ... } }.</summary>
    private static List<SignatureCertificate> ReadPkcs7Certificates(ReadOnlySpan<byte> der)
    {
        var result = new List<SignatureCertificate>();
        var contentInfo = new AsnReader(der.ToArray(), AsnEncodingRules.BER).ReadSequence();
        string type = contentInfo.ReadObjectIdentifier();
        if (type != "1.2.840.113549.1.7.2")
        {
            throw new AsnContentException($"content type {type} is not signedData");
        }
        var signedData = contentInfo.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, true)).ReadSequence();
        signedData.ReadInteger();
        signedData.ReadSetOf();
        signedData.ReadSequence();
        var certTag = new Asn1Tag(TagClass.ContextSpecific, 0, true);
        if (signedData.HasData && signedData.PeekTag().HasSameClassAndValue(certTag))
        {
            var set = signedData.ReadSetOf(true, certTag);
            while (set.HasData)
            {
                var raw = set.ReadEncodedValue();
                using var cert = X509CertificateLoader.LoadCertificate(raw.Span);
                result.Add(new SignatureCertificate(cert.Subject, cert.Issuer));
            }
        }
        return result;
    }
}

/// <summary>Recognises the architecture of a Linux kernel image (bzImage, arm64 Image, EFI zboot, ELF), compressed or not.</summary>
public static class KernelArchitecture
{
    /// <summary>Reads only the header; <paramref name="head"/> needs the first 4 KiB or so.</summary>
    public static BootArchitecture Detect(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 0x40 && head.Slice(0x38, 4).SequenceEqual("ARMd"u8))
        {
            return BootArchitecture.Arm64;
        }
        if (head.Length >= 0x206 && head.Slice(0x202, 4).SequenceEqual("HdrS"u8))
        {
            // The x86 boot protocol; a 64-bit kernel's PE header (EFI stub) says x64, else assume it from XLF_KERNEL_64.
            var pe = PeSignature.Read(head);
            if (pe is not null && pe.Machine != BootArchitecture.Unknown)
            {
                return pe.Machine;
            }
            return head.Length > 0x237 && (BinaryPrimitives.ReadUInt16LittleEndian(head[0x236..]) & 1) != 0 ? BootArchitecture.X64 : BootArchitecture.X86;
        }
        if (head.Length >= 20 && head[..4].SequenceEqual("\u007fELF"u8))
        {
            ushort machine = head[5] == 2 ? BinaryPrimitives.ReadUInt16BigEndian(head[18..]) : BinaryPrimitives.ReadUInt16LittleEndian(head[18..]);
            return machine switch { 62 => BootArchitecture.X64, 183 => BootArchitecture.Arm64, 3 => BootArchitecture.X86, _ => BootArchitecture.Unknown };
        }
        // EFI zboot (arm64 vmlinuz of Fedora, Ubuntu 24.04): a PE whose machine is the kernel's.
        var zboot = PeSignature.Read(head);
        return zboot?.Machine ?? BootArchitecture.Unknown;
    }

    /// <summary>Detects the architecture of a kernel file, looking inside gzip (Debian's arm64 vmlinuz is a gzip of the Image).</summary>
    public static BootArchitecture Detect(byte[] file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Length > 2 && file[0] == 0x1F && file[1] == 0x8B)
        {
            var head = new byte[4096];
            try
            {
                using var gz = new System.IO.Compression.GZipStream(new MemoryStream(file), System.IO.Compression.CompressionMode.Decompress);
                int n = 0;
                while (n < head.Length)
                {
                    int r = gz.Read(head, n, head.Length - n);
                    if (r == 0)
                    {
                        break;
                    }
                    n += r;
                }
                return Detect(head.AsSpan(0, n));
            }
            catch (InvalidDataException)
            {
                return BootArchitecture.Unknown;
            }
        }
        return Detect(file.AsSpan());
    }
}
