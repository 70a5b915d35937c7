using System.Numerics;

namespace Azure.LinuxImage.Engine.FileSystems.Xfs;

/// <summary>The name hash of directory leaves and attribute trees (xfs_da_hashname).</summary>
internal static class XfsDaHash
{
    public static uint Hash(ReadOnlySpan<byte> name)
    {
        uint hash = 0;
        while (name.Length >= 4)
        {
            hash = ((uint)name[0] << 21) ^ ((uint)name[1] << 14) ^ ((uint)name[2] << 7) ^ name[3] ^ BitOperations.RotateLeft(hash, 7 * 4);
            name = name[4..];
        }
        return name.Length switch
        {
            3 => ((uint)name[0] << 14) ^ ((uint)name[1] << 7) ^ name[2] ^ BitOperations.RotateLeft(hash, 7 * 3),
            2 => ((uint)name[0] << 7) ^ name[1] ^ BitOperations.RotateLeft(hash, 7 * 2),
            1 => name[0] ^ BitOperations.RotateLeft(hash, 7),
            _ => hash,
        };
    }
}
