using System.Buffers.Binary;
using System.IO.Compression;
using K4os.Compression.LZ4;

namespace Azure.LinuxImage.Engine.Guest.Initramfs;

/// <summary>Compresses a rebuilt segment the way it was compressed before, in formats the kernel decompresses.</summary>
internal static class InitramfsCompressor
{
    // The levels the tools themselves default to (gzip -6, zstd -3): what is re-encoded is a few
    // MiB of modules and indexes, which level 9 made three to five times slower to write
    // (150 ms for the zstd tail with the managed encoder) for a tenth less size. The managed
    // encoders are kept over the system's libraries so that the bytes do not depend on the machine.
    internal const int ZstdLevel = 3;

    internal const CompressionLevel DeflateLevel = CompressionLevel.Optimal;

    public static bool CanCompress(InitramfsCompression compression) => compression != InitramfsCompression.Xz;

    public static byte[] Compress(InitramfsCompression compression, byte[] plain)
    {
        switch (compression)
        {
            case InitramfsCompression.None:
                return plain;
            case InitramfsCompression.Gzip:
            {
                using var output = new MemoryStream();
                using (var gzip = new GZipStream(output, DeflateLevel, leaveOpen: true))
                {
                    gzip.Write(plain);
                }
                return output.ToArray();
            }
            case InitramfsCompression.Zstd:
            {
                using var compressor = new ZstdSharp.Compressor(ZstdLevel);
                return compressor.Wrap(plain).ToArray();
            }
            case InitramfsCompression.Bzip2:
            {
                using var output = new MemoryStream();
                using (var bzip = SharpCompress.Compressors.BZip2.BZip2Stream.Create(output, SharpCompress.Compressors.CompressionMode.Compress, false, leaveOpen: true))
                {
                    bzip.Write(plain);
                }
                return output.ToArray();
            }
            case InitramfsCompression.Lz4Legacy:
            {
                // The legacy frame: magic, then 8 MiB chunks each preceded by its compressed size.
                const int chunk = 8 << 20;
                using var output = new MemoryStream();
                Span<byte> word = stackalloc byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(word, 0x184C2102);
                output.Write(word);
                byte[] target = new byte[LZ4Codec.MaximumOutputSize(chunk)];
                for (int offset = 0; offset < plain.Length; offset += chunk)
                {
                    int size = LZ4Codec.Encode(plain.AsSpan(offset, Math.Min(chunk, plain.Length - offset)), target, LZ4Level.L09_HC);
                    BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)size);
                    output.Write(word);
                    output.Write(target, 0, size);
                }
                return output.ToArray();
            }
            default:
                throw new NotSupportedException($"no {compression} encoder");
        }
    }
}
