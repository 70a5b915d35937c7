using System.IO.Compression;
using System.Text;
using Azure.LinuxImage.Engine.Guest.Initramfs;

namespace Azure.LinuxImage.Tests.Guest;

/// <summary>A small initramfs made in memory (our cpio writer + the BCL's gzip), for the fast whole-guest tests.</summary>
public static class GuestInitramfsFixture
{
    public static byte[] Build(string kernel, bool withHyperV, string moduleRoot = "usr/lib/modules")
    {
        string dir = $"{moduleRoot}/{kernel}";
        var entries = new List<CpioEntry>();
        void D(string path) => entries.Add(new CpioEntry(path, CpioEntry.DirectoryType | 0x1ED, 0, 0, 1700000000, []));
        void F(string path, string text) => entries.Add(new CpioEntry(path, CpioEntry.RegularType | 0x1A4, 0, 0, 1700000000, Encoding.UTF8.GetBytes(text)));
        string dep = "kernel/drivers/ata/ata_piix.ko:\n";
        D(".");
        string accumulated = string.Empty;
        foreach (string part in (dir + "/kernel/drivers/ata").Split('/'))
        {
            accumulated = accumulated.Length == 0 ? part : accumulated + "/" + part;
            D(accumulated);
        }
        F(dir + "/kernel/drivers/ata/ata_piix.ko", "ata");
        if (withHyperV)
        {
            D(dir + "/kernel/drivers/hv");
            F(dir + "/kernel/drivers/hv/hv_vmbus.ko", "hv_vmbus");
            D(dir + "/kernel/drivers/scsi");
            F(dir + "/kernel/drivers/scsi/hv_storvsc.ko", "hv_storvsc");
            dep += "kernel/drivers/hv/hv_vmbus.ko:\nkernel/drivers/scsi/hv_storvsc.ko: kernel/drivers/hv/hv_vmbus.ko\n";
        }
        F(dir + "/modules.dep", dep);
        F(dir + "/modules.alias", "alias pci:v00008086d00007111sv*sd*bc*sc*i* ata_piix\n");
        D("conf");
        F("conf/modules", "# modules\n");
        F("init", "#!/bin/sh\n");
        byte[] cpio = CpioNewc.Write(entries);
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(cpio);
        }
        return output.ToArray();
    }

    public static InMemoryGuestFileSystem WithInitramfs(this InMemoryGuestFileSystem fs, string path, string kernel, bool withHyperV = false) =>
        fs.AddBytes(path, Build(kernel, withHyperV));

    public static InMemoryGuestFileSystem Debian12() => GuestFixtures.Debian12().WithInitramfs($"/boot/initrd.img-{GuestFixtures.DebianKernel}", GuestFixtures.DebianKernel);

    public static InMemoryGuestFileSystem Rhel9() => GuestFixtures.Rhel9().WithInitramfs($"/boot/initramfs-{GuestFixtures.Rhel9Kernel}.img", GuestFixtures.Rhel9Kernel);

    public static InMemoryGuestFileSystem Rhel8() => GuestFixtures.Rhel8().WithInitramfs($"/boot/initramfs-{GuestFixtures.Rhel8Kernel}.img", GuestFixtures.Rhel8Kernel);

    public static InMemoryGuestFileSystem CentOs6() => GuestFixtures.CentOs6().WithInitramfs($"/boot/initramfs-{GuestFixtures.El6Kernel}.img", GuestFixtures.El6Kernel);

    public static InMemoryGuestFileSystem Sles15() => GuestFixtures.Sles15().WithInitramfs($"/boot/initrd-{GuestFixtures.SuseKernel}", GuestFixtures.SuseKernel);

    public static IEnumerable<object[]> Families =>
    [
        ["debian12"], ["rhel9"], ["rhel8"], ["centos6"], ["sles15"],
    ];

    public static InMemoryGuestFileSystem Family(string name) => name switch
    {
        "debian12" => Debian12(),
        "rhel9" => Rhel9(),
        "rhel8" => Rhel8(),
        "centos6" => CentOs6(),
        "sles15" => Sles15(),
        _ => throw new ArgumentException(name),
    };
}
