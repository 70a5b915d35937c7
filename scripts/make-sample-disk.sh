#!/usr/bin/env bash
# Builds samples/disks/debian-minimal.vhd: a real Debian 12 root file system (kernel, initramfs,
# GRUB configuration, OpenSSH, the Azure Linux Agent) on an MBR-partitioned disk, stored as a
# dynamic VHD whose virtual size is not a whole MiB — the kind of disk a user brings from KVM.
# Needs root (debootstrap, chroot) and Debian's package mirror; no loop devices, nothing mounted
# but /proc, /sys and /dev inside the chroot while packages install.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/disk-steps.sh"
# The root tree is cached outside the checkout: CI clones afresh, and debootstrap takes minutes.
work="$sample_cache"
rootfs="$work/rootfs"
out="$here/samples/disks/debian-minimal.vhd"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
uuid="$sample_root_uuid"

"$here/scripts/install-test-deps.sh"
mkdir -p "$work" "$(dirname "$out")"
# One run at a time per machine: the fixture scripts of several checkouts (or test classes) share
# this cache, and two debootstraps or a chroot's bind mounts under another run's mke2fs -d ruin it.
exec 9>"$work.lock"
flock 9

if [ ! -f "$work/rootfs.complete" ]; then
  if [ ! -f "$work/rootfs.debootstrapped" ]; then
    rm -rf "$rootfs" "$work"/rootfs.grub-*
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror"
    touch "$work/rootfs.debootstrapped"
  fi
  for d in proc sys dev; do mount --bind "/$d" "$rootfs/$d"; done
  trap 'for d in dev sys proc; do umount -l "$rootfs/$d" 2>/dev/null || true; done' EXIT
  chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    linux-image-amd64 initramfs-tools grub-pc-bin grub2-common systemd-sysv openssh-server waagent \
    python3 ifupdown isc-dhcp-client netbase
  cat > "$rootfs/etc/fstab" <<FSTAB
UUID=$uuid / ext4 errors=remount-ro 0 1
/swapfile none swap sw 0 0
FSTAB
  echo sample-debian > "$rootfs/etc/hostname"
  # Debian's defaults, as an installer leaves them: a quiet boot the article asks to undo (R12).
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs/var/lib/apt/lists/"*
  for d in dev sys proc; do umount -l "$rootfs/$d"; done
  trap - EXIT
  rm -f "$work/rootfs.debootstrapped"
  touch "$work/rootfs.complete"
fi

# The boot loader's configuration and core.img are made on every run (cheap), after the packages.
if [ ! -f "$work/rootfs.grub-$uuid" ]; then
  for d in proc sys dev; do mount --bind "/$d" "$rootfs/$d"; done
  trap 'for d in dev sys proc; do umount -l "$rootfs/$d" 2>/dev/null || true; done' EXIT
  # The initramfs is made again with the final configuration, and must hold the module index
  # without which nothing can be loaded at boot.
  chroot "$rootfs" update-initramfs -u -k all
  index=$(lsinitramfs "$rootfs"/boot/initrd.img-* | grep -c 'modules\.dep\.bin$' || true)
  [ "$index" -gt 0 ] || { echo "the initramfs has no module index" >&2; exit 1; }
  [ -f "$rootfs/etc/default/grub" ] || cp "$rootfs/usr/share/grub/default/grub" "$rootfs/etc/default/grub"
  sed -i 's/^GRUB_CMDLINE_LINUX_DEFAULT=.*/GRUB_CMDLINE_LINUX_DEFAULT="quiet"/' "$rootfs/etc/default/grub"
  mkdir -p "$rootfs/boot/grub"
  # grub-probe cannot see a disk from a chroot (it would describe the build machine's own disk):
  # a stand-in answers for the sample disk while grub-mkconfig runs, then the real one is put back.
  mv "$rootfs/usr/sbin/grub-probe" "$rootfs/usr/sbin/grub-probe.real"
  cat > "$rootfs/usr/sbin/grub-probe" <<PROBE
#!/bin/sh
for a in "\$@"; do case "\$a" in
  --target=fs_uuid) echo $uuid; exit 0;;
  --target=fs) echo ext2; exit 0;;
  --target=device) echo /dev/sda1; exit 0;;
  --target=partmap) echo msdos; exit 0;;
  --target=abstraction) exit 0;;
  --target=drive) echo "(hd0,msdos1)"; exit 0;;
  --target=compatibility_hint) echo hd0,msdos1; exit 0;;
  --target=hints_string) exit 0;;
esac; done
echo /dev/sda1
PROBE
  chmod +x "$rootfs/usr/sbin/grub-probe"
  chroot "$rootfs" grub-mkconfig -o /boot/grub/grub.cfg
  mv -f "$rootfs/usr/sbin/grub-probe.real" "$rootfs/usr/sbin/grub-probe"
  # 10_linux names the root by UUID only when /dev/disk/by-uuid shows it, which a chroot cannot.
  sed -i "s#root=/dev/sda1#root=UUID=$uuid#" "$rootfs/boot/grub/grub.cfg"
  grep -q "root=UUID=$uuid" "$rootfs/boot/grub/grub.cfg" || { echo "grub.cfg does not name the root by UUID" >&2; exit 1; }
  # GRUB for BIOS boot without grub-install: the modules where grub-install puts them, and a
  # core.img that finds the root file system by UUID (written to the disk's first sectors below).
  mkdir -p "$rootfs/boot/grub/i386-pc"
  cp "$rootfs"/usr/lib/grub/i386-pc/*.mod "$rootfs"/usr/lib/grub/i386-pc/*.lst "$rootfs/usr/lib/grub/i386-pc/boot.img" "$rootfs/boot/grub/i386-pc/"
  printf 'search.fs_uuid %s root hd0,msdos1\nset prefix=($root)/boot/grub\n' "$uuid" > "$rootfs/tmp/load.cfg"
  chroot "$rootfs" grub-mkimage -O i386-pc -c /tmp/load.cfg -p /boot/grub -o /tmp/core.img biosdisk part_msdos ext2 search_fs_uuid
  mv "$rootfs/tmp/core.img" "$work/core.img"
  rm -f "$rootfs/tmp/load.cfg"
  for d in dev sys proc; do umount -l "$rootfs/$d"; done
  trap - EXIT
  touch "$work/rootfs.grub-$uuid"
fi

# A partition of 1 GiB at 1 MiB, and 300 KiB after it: the disk is not a whole number of MiB.
part="$work/root.ext4"
raw="$work/disk.raw"
rm -f "$part" "$raw"
mke2fs -q -t ext4 -d "$rootfs" -L rootfs -U "$uuid" -E root_owner=0:0 "$part" 1G
truncate -s $((1024*1024 + 1024*1024*1024 + 300*1024)) "$raw"
printf 'label: dos\nstart=2048, size=%d, type=83, bootable\n' $((1024*1024*1024/512)) | sfdisk -q "$raw"
place "$part" "$raw" $((1024*1024))
# core.img from sector 1, before the partition.
grub_bios_setup "$raw" "$rootfs/boot/grub/i386-pc/boot.img" "$work/core.img" 1 2048
to_vhd "$raw" "$out"
rm -f "$part" "$raw"
echo "sample disk: $out ($(qemu-img info -f vpc "$out" | grep 'virtual size'))"
