using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.FileSystems;
using Azure.LinuxImage.Tests.Partitions;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>What every file system recognised by FileSystemTypes.All does with volumes too small to hold it.</summary>
[TestClass]
public sealed class FileSystemTypesTests
{
    /// <summary>
    /// Found by the fuzz harness (XFS): Identify read a superblock past the end of a truncated
    /// partition. A volume of a few bytes, each type's magic at its start, is not probed, not
    /// identified, and an LIMG error when opened.
    /// </summary>
    [TestMethod]
    public void A_volume_shorter_than_a_superblock_is_not_identified_and_is_an_LIMG_error_when_opened()
    {
        foreach (var type in FileSystemTypes.All)
        {
            foreach (int length in new[] { 0, 31, 511 })
            {
                var bytes = new byte[length];
                "XFSB"u8[..Math.Min(4, length)].CopyTo(bytes);
                var volume = new MemoryVolume(bytes);
                string what = $"{type.FstabTypes[0]} on {length} bytes";
                Assert.IsFalse(type.Probe(volume), what);
                Assert.AreEqual((null, null), type.Identify(volume), what);
                var e = Assert.ThrowsExactly<LinuxImageException>(() => type.Open(volume, "short.img", string.Empty), what);
                StringAssert.StartsWith(e.Descriptor.Code, "LIMG03", what);
            }
        }
    }
}
