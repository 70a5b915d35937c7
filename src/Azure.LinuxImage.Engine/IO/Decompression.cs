using System.IO.Compression;
using Azure.LinuxImage.Engine.Diagnostics;

namespace Azure.LinuxImage.Engine.IO;

/// <summary>
/// Inflates one compressed cluster or grain. The output size is fixed by the format, so a stream
/// that ends early, runs over or is malformed is reported as damage of the source file.
/// </summary>
internal static class Decompression
{
    public enum Codec
    {
        RawDeflate,
        Zlib,
        Zstd,
    }

    /// <summary>
    /// Fills <paramref name="output"/> from <paramref name="compressed"/>; at least
    /// <paramref name="minimum"/> bytes (default: all) must come out, the rest is zeroed. Trailing
    /// bytes after the stream (sector padding) are ignored, as qemu does.
    /// </summary>
    public static void Decompress(Codec codec, byte[] compressed, int compressedLength, Span<byte> output, string path, string what, long fileOffset, int minimum = -1)
    {
        if (minimum < 0)
        {
            minimum = output.Length;
        }
        try
        {
            using var input = new MemoryStream(compressed, 0, compressedLength, writable: false);
            using Stream stream = codec switch
            {
                Codec.RawDeflate => new DeflateStream(input, CompressionMode.Decompress),
                Codec.Zlib => new ZLibStream(input, CompressionMode.Decompress),
                _ => new ZstdSharp.DecompressionStream(input),
            };
            int done = 0;
            while (done < output.Length)
            {
                int n = stream.Read(output[done..]);
                if (n == 0 && done >= minimum)
                {
                    output[done..].Clear();
                    return;
                }
                if (n == 0)
                {
                    throw new LinuxImageException(DiagnosticCatalog.CompressedDataInvalid, path, path, what, fileOffset,
                        $"it ends after {done} of {output.Length} bytes");
                }
                done += n;
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ZstdSharp.ZstdException or InvalidOperationException or ArgumentException)
        {
            throw new LinuxImageException(DiagnosticCatalog.CompressedDataInvalid, path, e, path, what, fileOffset, e.Message);
        }
    }
}
