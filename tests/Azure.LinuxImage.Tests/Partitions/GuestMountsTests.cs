using System.Text;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Disks.Raw;
using Azure.LinuxImage.Engine.Guest;
using Azure.LinuxImage.Engine.IO;
using Azure.LinuxImage.Tests.FileSystems;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Partitions;

/// <summary>The guest tree assembled from real partitioned and LVM disks, read and changed through IGuestFileSystem.</summary>
[TestClass]
public sealed class GuestMountsTests
{
    private static string BuildMbrDisk(TempDir temp)
    {
        string disk = temp["disk.img"];
        var layout = TestDisks.Partition(disk, 40, "label: dos\nlabel-id: 0xcafef00d\nstart=2048, size=8MiB, type=83\ntype=5\nsize=2MiB, type=82\ntype=83\n");
        string fstab = $"# static file system information\nUUID={TestDisks.RootUuid} / ext4 errors=remount-ro 0 1\nUUID={TestDisks.BootUuid} /boot ext4 defaults 0 2\n/dev/sda5 none swap sw 0 0\n";
        string boot = TestDisks.MakeExt4(temp, "boot", layout[1].Size, TestDisks.BootUuid, TestDisks.PopulateBoot);
        string root = TestDisks.MakeExt4(temp, "root", layout[6].Size, TestDisks.RootUuid, r => TestDisks.PopulateRoot(r, fstab));
        TestDisks.Place(disk, boot, layout[1].Offset);
        TestDisks.Place(disk, TestDisks.MakeSwap(temp, layout[5].Size), layout[5].Offset);
        TestDisks.Place(disk, root, layout[6].Offset);
        return disk;
    }

    [TestMethod]
    public void Root_and_boot_partitions_are_mounted_from_fstab_and_patched_through_the_overlay()
    {
        using var temp = new TempDir("guest-mbr");
        string disk = BuildMbrDisk(temp);
        using var image = new RawDiskImage(SourceFile.Open(disk));
        var overlay = new DiskOverlay(image);
        var guest = GuestMounts.Open(overlay, disk);

        Assert.AreEqual("partition 6", guest.Root.Volume.Name);
        Assert.IsFalse(guest.RootOnLvm);
        Assert.AreEqual(2, guest.Mounts.Count);
        Assert.AreEqual("/boot", guest.Mounts[1].MountPoint);
        Assert.AreEqual(1, guest.SwapVolumes.Count);
        Assert.AreEqual(5, guest.SwapVolumes[0].Partition!.Number);
        Assert.IsTrue(guest.Fstab.Any(e => e.IsSwap));
        Assert.AreEqual(0, guest.Diagnostics.Count);

        // /boot/grub/grub.cfg lives on partition 1; /boot/vmlinuz is a relative link there.
        StringAssert.Contains(Encoding.UTF8.GetString(guest.ReadFile("/boot/grub/grub.cfg")), "rhgb quiet");
        Assert.AreEqual("kernel", Encoding.UTF8.GetString(guest.ReadFile("/boot/vmlinuz")));
        Assert.AreEqual(GuestFileKind.Symlink, guest.Stat("/boot/vmlinuz")!.Kind);
        Assert.AreEqual("vmlinuz-6.1.0-13-amd64", guest.Stat("/boot/vmlinuz")!.LinkTarget);
        Assert.IsTrue(guest.ListDirectory("/boot").Any(e => e.Path == "/boot/grub" && e.Kind == GuestFileKind.Directory));
        // '..' at the root stays at the root; '..' out of a mount goes to the parent file system.
        CollectionAssert.AreEqual(guest.ReadFile("/etc/fstab"), guest.ReadFile("/../../boot/../etc/fstab"));
        CollectionAssert.AreEqual(guest.ReadFile("/etc/fstab"), guest.ReadFile("/boot/../etc/fstab"));

        guest.WriteFile("/boot/grub/grub.cfg", Encoding.UTF8.GetBytes("linux /vmlinuz console=ttyS0,115200n8\n"));
        guest.WriteFile("/etc/waagent.conf", Encoding.UTF8.GetBytes("ResourceDisk.Format=y\n"), 0x180);
        guest.CreateDirectory("/etc/cloud");
        guest.CreateSymlink("/etc/cloud/link", "../waagent.conf");
        Assert.AreEqual("ResourceDisk.Format=y\n", Encoding.UTF8.GetString(guest.ReadFile("/etc/cloud/link")));
        guest.Rename("/etc/ssh/sshd_config", "/etc/ssh/sshd_config.bak");
        guest.Delete("/etc/os-release");

        // Apply to a copy of the disk and judge each file system at its offset.
        string output = temp["out.img"];
        File.Copy(disk, output);
        using (var f = new FileStream(output, FileMode.Open))
        {
            foreach (var (offset, data) in overlay.GetChanges())
            {
                f.Position = offset;
                f.Write(data);
            }
        }
        var bootPart = guest.Partitions.Single(p => p.Number == 1);
        var rootPart = guest.Partitions.Single(p => p.Number == 6);
        Ext4TestImage.AssertClean($"{output}?offset={bootPart.Offset}");
        Ext4TestImage.AssertClean($"{output}?offset={rootPart.Offset}");
        StringAssert.Contains(Ext4TestImage.Debugfs($"{output}?offset={bootPart.Offset}", "cat /grub/grub.cfg"), "console=ttyS0");
        StringAssert.Contains(Ext4TestImage.Debugfs($"{output}?offset={rootPart.Offset}", "stat /etc/waagent.conf"), "Mode:  0600");
        // The swap partition and the partition table are untouched.
        Assert.IsTrue(overlay.GetChanges().All(c => c.Offset >= bootPart.Offset), "bytes before the first partition changed");
    }

    [TestMethod]
    [DataRow("fixed")]
    [DataRow("dynamic")]
    public void The_guest_is_found_inside_a_VHD_converted_by_qemu_img(string subformat)
    {
        using var temp = new TempDir("guest-vhd");
        string disk = BuildMbrDisk(temp);
        string vhd = temp["disk.vhd"];
        ExternalTool.RunChecked("qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", $"subformat={subformat},force_size=on", disk, vhd);
        using var image = Azure.LinuxImage.Engine.Disks.DiskImageOpener.Open(vhd);
        var overlay = new DiskOverlay(image);
        var guest = GuestMounts.Open(overlay, vhd);
        Assert.AreEqual("partition 6", guest.Root.Volume.Name);
        StringAssert.Contains(Encoding.UTF8.GetString(guest.ReadFile("/boot/grub/grub.cfg")), "rhgb quiet");
        guest.WriteFile("/etc/hostname", "azure\n"u8);
        var root = guest.Partitions.Single(p => p.Number == 6);
        string extracted = TestDisks.Extract(temp, new VolumeSlice(overlay, root.Offset, root.Length), "root.img");
        Ext4TestImage.AssertClean(extracted);
        CollectionAssert.AreEqual("azure\n"u8.ToArray(), Ext4TestImage.DebugfsCat(extracted, "/etc/hostname"));
    }

    [TestMethod]
    public void Symlink_loops_and_escapes_stay_inside_the_guest()
    {
        using var temp = new TempDir("guest-links");
        string disk = temp["disk.img"];
        var layout = TestDisks.Partition(disk, 24, "label: gpt\nstart=2048, type=L, name=root\n");
        string root = TestDisks.MakeExt4(temp, "root", layout[1].Size, TestDisks.RootUuid, r =>
        {
            TestDisks.PopulateRoot(r, "PARTUUID=placeholder / ext4 defaults 0 1\nLABEL=missing /home ext4 defaults 0 2\n");
            File.CreateSymbolicLink(Path.Combine(r, "loop1"), "loop2");
            File.CreateSymbolicLink(Path.Combine(r, "loop2"), "/loop1");
            File.CreateSymbolicLink(Path.Combine(r, "escape"), "../../../../etc");
            File.CreateSymbolicLink(Path.Combine(r, "abs"), "/etc/ssh");
            File.CreateSymbolicLink(Path.Combine(r, "dangling"), "/etc/created-through-link");
        });
        TestDisks.Place(disk, root, layout[1].Offset);
        using var image = new RawDiskImage(SourceFile.Open(disk));
        var overlay = new DiskOverlay(image);
        var guest = GuestMounts.Open(overlay, disk);
        Assert.AreEqual("partition 1", guest.Root.Volume.Name);
        Assert.AreEqual(1, guest.Diagnostics.Count, "the /home entry matches no volume");
        var e = Assert.ThrowsExactly<LinuxImageException>(() => guest.ReadFile("/loop1"));
        Assert.AreEqual("LIMG0322", e.Descriptor.Code);
        CollectionAssert.AreEqual(guest.ReadFile("/etc/fstab"), guest.ReadFile("/escape/fstab"));
        CollectionAssert.AreEqual(guest.ReadFile("/etc/ssh/sshd_config"), guest.ReadFile("/abs/sshd_config"));
        Assert.AreEqual(GuestFileKind.Symlink, guest.Stat("/loop1")!.Kind);
        Assert.IsNull(guest.Stat("/etc/nothing"));
        Assert.IsNull(guest.Stat("/nothing/deeper"));
        guest.WriteFile("/dangling", "via link"u8);
        Assert.AreEqual("via link", Encoding.UTF8.GetString(guest.ReadFile("/etc/created-through-link")));
    }

    [TestMethod]
    public void Root_on_a_two_segment_LVM_volume_is_found_read_and_patched()
    {
        using var temp = new TempDir("guest-lvm");
        string disk = temp["disk.img"];
        var layout = TestDisks.Partition(disk, 64, "label: dos\nstart=2048, size=8MiB, type=83\ntype=8e\n");
        string fstab = $"/dev/mapper/vg--os-root / ext4 defaults 0 1\nUUID={TestDisks.BootUuid} /boot ext4 defaults 0 2\n/dev/vg-os/swap none swap sw 0 0\n";
        string root = TestDisks.MakeExt4(temp, "root", 24L << 20, TestDisks.RootUuid, r => TestDisks.PopulateRoot(r, fstab));
        string boot = TestDisks.MakeExt4(temp, "boot", layout[1].Size, TestDisks.BootUuid, TestDisks.PopulateBoot);
        TestDisks.Place(disk, boot, layout[1].Offset);
        // Real LVM tools on a loop device over partition 2 (no device-mapper here): root gets two
        // segments with the swap LV between them; the root fs is written at the segments' offsets.
        string script = $$"""
            set -e
            LOOP=$(losetup -f --show -o {{layout[2].Offset}} --sizelimit {{layout[2].Size}} {{disk}})
            trap 'vgchange --driverloaded n --devices $LOOP -an vg-os >/dev/null 2>&1 || true; losetup -d $LOOP' EXIT
            # Only this loop device (others' tests may hold a VG of the same name), and no backups in the machine's /etc/lvm.
            O=(--driverloaded n --devices $LOOP --config 'backup { backup=0 archive=0 }')
            pvcreate "${O[@]}" -Zn -y $LOOP >/dev/null
            vgcreate "${O[@]}" -y -s 4M vg-os $LOOP >/dev/null
            lvcreate "${O[@]}" -an -Zn -L 16M -n root vg-os >/dev/null
            lvcreate "${O[@]}" -an -Zn -L 4M -n swap vg-os >/dev/null
            lvextend "${O[@]}" -L +8M vg-os/root >/dev/null
            PESTART=$(pvs "${O[@]}" --noheadings --units b --nosuffix -o pe_start $LOOP | tr -d ' ')
            lvs "${O[@]}" --noheadings --units b --nosuffix -o seg_start,seg_size,seg_pe_ranges vg-os/root | while read start size ranges; do
              pe=${ranges#*:}; pe=${pe%-*}
              dd if={{root}} of=$LOOP bs=1M iflag=skip_bytes,count_bytes skip=$start count=$size oflag=seek_bytes seek=$((PESTART + pe * 4194304)) conv=notrunc status=none
            done
            lvs "${O[@]}" --noheadings -o seg_count vg-os/root
            """;
        var r = ExternalTool.Run("bash", ["-c", script]);
        Assert.AreEqual(0, r.ExitCode, r.All);
        Assert.AreEqual("2", r.StdOut.Trim(), "fixture: root should have two segments");

        using var image = new RawDiskImage(SourceFile.Open(disk));
        var overlay = new DiskOverlay(image);
        var guest = GuestMounts.Open(overlay, disk);
        Assert.IsTrue(guest.RootOnLvm);
        Assert.AreEqual("vg-os/root", guest.Root.Volume.Name);
        Assert.AreEqual(24L << 20, guest.Root.Volume.Volume.Length);
        Assert.AreEqual("/boot", guest.Mounts[1].MountPoint);
        StringAssert.Contains(Encoding.UTF8.GetString(guest.ReadFile("/etc/fstab")), "vg--os-root");
        guest.WriteFile("/etc/fstab", Encoding.UTF8.GetBytes(fstab.Replace("/dev/vg-os/swap none swap sw 0 0\n", "", StringComparison.Ordinal)));
        var big = new byte[6 << 20];
        new Random(5).NextBytes(big);
        guest.WriteFile("/var/big", big);
        string extracted = TestDisks.Extract(temp, guest.Root.Volume.Volume, "root-out.img");
        Ext4TestImage.AssertClean(extracted);
        CollectionAssert.AreEqual(big, Ext4TestImage.DebugfsCat(extracted, "/var/big"));
        Assert.IsFalse(Ext4TestImage.Debugfs(extracted, "cat /etc/fstab").Contains("swap", StringComparison.Ordinal));
    }
}
