namespace Azure.LinuxImage.Engine.Disks;

public enum DiskFormat
{
    Raw,
    VhdFixed,
    VhdDynamic,
    VhdDifferencing,
    Vhdx,
    Qcow2,
    Vmdk,
    Vdi,
}
