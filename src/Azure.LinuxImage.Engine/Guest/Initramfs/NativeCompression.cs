using System.Runtime.InteropServices;

namespace Azure.LinuxImage.Engine.Guest.Initramfs;

/// <summary>
/// The system's zlib and libzstd, when the process can load them (every Debian and Ubuntu machine
/// has both: apt depends on them). Decoding a 130 MB initramfs through them is several times faster
/// than the managed decoders, and zlib's Z_BLOCK stops at each deflate block boundary, which lets one
/// pass both list the archive and find where to cut it. Where they are absent (another OS, a
/// container without them) every caller falls back to the managed path; nothing needs them.
/// </summary>
internal static unsafe class NativeCompression
{
    private static readonly bool DisabledByEnvironment = Environment.GetEnvironmentVariable("LINUXIMAGE_NO_NATIVE_COMPRESSION") == "1";
    private static readonly AsyncLocal<bool> DisabledHere = new();

    /// <summary>
    /// Runs the managed fallbacks on a machine that has the libraries (tests, for the flow that
    /// sets it; LINUXIMAGE_NO_NATIVE_COMPRESSION=1 for a whole process).
    /// </summary>
    internal static bool Disabled
    {
        get => DisabledByEnvironment || DisabledHere.Value;
        set => DisabledHere.Value = value;
    }

    private static readonly Lazy<Zlib?> ZlibFunctions = new(Zlib.TryLoad);
    private static readonly Lazy<Zstd?> ZstdFunctions = new(Zstd.TryLoad);

    public static Zlib? ZlibLibrary => Disabled ? null : ZlibFunctions.Value;

    public static Zstd? ZstdLibrary => Disabled ? null : ZstdFunctions.Value;

    private static nint LoadLibrary(params string[] names)
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }
        foreach (string name in names)
        {
            if (NativeLibrary.TryLoad(name, out nint handle))
            {
                return handle;
            }
        }
        return 0;
    }

    /// <summary>zlib's z_stream (zlib.h); uLong is C's unsigned long.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct ZStream
    {
        public byte* NextIn;
        public uint AvailIn;
        public CULong TotalIn;
        public byte* NextOut;
        public uint AvailOut;
        public CULong TotalOut;
        public nint Msg;
        public nint State;
        public nint ZAlloc;
        public nint ZFree;
        public nint Opaque;
        public int DataType;
        public CULong Adler;
        public CULong Reserved;
    }

    internal sealed class Zlib
    {
        public const int Ok = 0;
        public const int StreamEnd = 1;
        public const int Block = 5;

        private delegate* unmanaged<ZStream*, int, byte*, int, int> inflateInit2;
        private delegate* unmanaged<ZStream*, int, int> inflate;
        private delegate* unmanaged<ZStream*, int> inflateEnd;
        private byte* version;

        public static Zlib? TryLoad()
        {
            nint lib = LoadLibrary("libz.so.1");
            if (lib == 0
                || !NativeLibrary.TryGetExport(lib, "inflateInit2_", out nint init)
                || !NativeLibrary.TryGetExport(lib, "inflate", out nint run)
                || !NativeLibrary.TryGetExport(lib, "inflateEnd", out nint end)
                || !NativeLibrary.TryGetExport(lib, "zlibVersion", out nint ver))
            {
                return null;
            }
            var zlib = new Zlib
            {
                inflateInit2 = (delegate* unmanaged<ZStream*, int, byte*, int, int>)init,
                inflate = (delegate* unmanaged<ZStream*, int, int>)run,
                inflateEnd = (delegate* unmanaged<ZStream*, int>)end,
            };
            zlib.version = ((delegate* unmanaged<byte*>)ver)();
            // The library's version string goes back to it: zlib checks only its first digit
            // and the struct's size, which is the ABI both sides must share.
            return zlib.version is null || zlib.version[0] != (byte)'1' ? null : zlib;
        }

        /// <summary>A raw (headerless) deflate decoder; the caller owns and ends it.</summary>
        public int InitRaw(ZStream* stream) => inflateInit2(stream, -15, version, sizeof(ZStream));

        public int Inflate(ZStream* stream, int flush) => inflate(stream, flush);

        public void End(ZStream* stream) => inflateEnd(stream);
    }

    /// <summary>zstd's ZSTD_inBuffer / ZSTD_outBuffer.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct ZstdBuffer
    {
        public byte* Data;
        public nuint Size;
        public nuint Pos;
    }

    internal sealed class Zstd
    {
        private delegate* unmanaged<nint> create;
        private delegate* unmanaged<nint, nuint> free;
        private delegate* unmanaged<nint, ZstdBuffer*, ZstdBuffer*, nuint> decompressStream;
        private delegate* unmanaged<nuint, uint> isError;

        public static Zstd? TryLoad()
        {
            nint lib = LoadLibrary("libzstd.so.1");
            if (lib == 0
                || !NativeLibrary.TryGetExport(lib, "ZSTD_createDCtx", out nint create)
                || !NativeLibrary.TryGetExport(lib, "ZSTD_freeDCtx", out nint free)
                || !NativeLibrary.TryGetExport(lib, "ZSTD_decompressStream", out nint run)
                || !NativeLibrary.TryGetExport(lib, "ZSTD_isError", out nint isError))
            {
                return null;
            }
            return new Zstd
            {
                create = (delegate* unmanaged<nint>)create,
                free = (delegate* unmanaged<nint, nuint>)free,
                decompressStream = (delegate* unmanaged<nint, ZstdBuffer*, ZstdBuffer*, nuint>)run,
                isError = (delegate* unmanaged<nuint, uint>)isError,
            };
        }

        public nint Create() => create();

        public void Free(nint context) => free(context);

        /// <summary>ZSTD_decompressStream; false when it reports an error.</summary>
        public bool Decompress(nint context, ZstdBuffer* output, ZstdBuffer* input) => isError(decompressStream(context, output, input)) == 0;
    }
}
