#!/usr/bin/env bash
# Builds samples/disks/debian-minimal.vhd: a real Debian 12 root file system (kernel, initramfs,
# GRUB configuration, OpenSSH, the Azure Linux Agent) on an MBR-partitioned disk, stored as a
# dynamic VHD whose virtual size is not a whole MiB — the kind of disk a user brings from KVM.
# Needs root (debootstrap, chroot) and Debian's package mirror; no loop devices, nothing mounted
# but /proc, /sys and /dev inside the chroot while packages install.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# The root tree is cached outside the checkout: CI clones afresh, and debootstrap takes minutes.
work="${LIMG_SAMPLE_CACHE:-/var/tmp/limg-sample-cache}"
rootfs="$work/rootfs"
out="$here/samples/disks/debian-minimal.vhd"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
uuid="${SAMPLE_ROOT_UUID:-6b1f6c3e-8d1a-4d8e-9a53-0c2f9e5d7a11}"

"$here/scripts/install-test-deps.sh"
mkdir -p "$work" "$(dirname "$out")"

if [ ! -f "$rootfs/.complete" ]; then
  if [ ! -f "$rootfs/.debootstrap-complete" ]; then
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror"
    touch "$rootfs/.debootstrap-complete"
  fi
  for d in proc sys dev; do mount --bind "/$d" "$rootfs/$d"; done
  trap 'for d in dev sys proc; do umount -l "$rootfs/$d" 2>/dev/null || true; done' EXIT
  # grub-probe cannot see a disk from a chroot: a stand-in answers while grub-mkconfig runs.
  cat > "$rootfs/usr/local/sbin/grub-probe" <<PROBE
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
  chmod +x "$rootfs/usr/local/sbin/grub-probe"
  chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    linux-image-amd64 initramfs-tools grub-pc-bin grub2-common systemd-sysv openssh-server waagent \
    python3 ifupdown isc-dhcp-client netbase
  cat > "$rootfs/etc/fstab" <<FSTAB
UUID=$uuid / ext4 errors=remount-ro 0 1
/swapfile none swap sw 0 0
FSTAB
  echo sample-debian > "$rootfs/etc/hostname"
  # Debian's defaults, as an installer leaves them: a quiet boot the article asks to undo (R12).
  [ -f "$rootfs/etc/default/grub" ] || cp "$rootfs/usr/share/grub/default/grub" "$rootfs/etc/default/grub"
  sed -i 's/^GRUB_CMDLINE_LINUX_DEFAULT=.*/GRUB_CMDLINE_LINUX_DEFAULT="quiet"/' "$rootfs/etc/default/grub"
  mkdir -p "$rootfs/boot/grub"
  chroot "$rootfs" env PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin grub-mkconfig -o /boot/grub/grub.cfg
  rm -f "$rootfs/usr/local/sbin/grub-probe"
  # GRUB for BIOS boot without grub-install: the modules where grub-install puts them, and a
  # core.img that finds the root file system by UUID (written to the disk's first sectors below).
  mkdir -p "$rootfs/boot/grub/i386-pc"
  cp "$rootfs"/usr/lib/grub/i386-pc/*.mod "$rootfs"/usr/lib/grub/i386-pc/*.lst "$rootfs/usr/lib/grub/i386-pc/boot.img" "$rootfs/boot/grub/i386-pc/"
  printf 'search.fs_uuid %s root hd0,msdos1\nset prefix=($root)/boot/grub\n' "$uuid" > "$rootfs/tmp/load.cfg"
  chroot "$rootfs" grub-mkimage -O i386-pc -c /tmp/load.cfg -p /boot/grub -o /tmp/core.img biosdisk part_msdos ext2 search_fs_uuid
  mv "$rootfs/tmp/core.img" "$work/core.img"
  rm -f "$rootfs/tmp/load.cfg"
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs/var/lib/apt/lists/"*
  for d in dev sys proc; do umount -l "$rootfs/$d"; done
  trap - EXIT
  rm -f "$rootfs/.debootstrap-complete"
  touch "$rootfs/.complete"
fi

# A partition of 1 GiB at 1 MiB, and 300 KiB after it: the disk is not a whole number of MiB.
part="$work/root.ext4"
raw="$work/disk.raw"
rm -f "$part" "$raw"
mke2fs -q -t ext4 -d "$rootfs" -L rootfs -U "$uuid" -E root_owner=0:0 "$part" 1G
truncate -s $((1024*1024 + 1024*1024*1024 + 300*1024)) "$raw"
printf 'label: dos\nstart=2048, size=%d, type=83, bootable\n' $((1024*1024*1024/512)) | sfdisk -q "$raw"
dd if="$part" of="$raw" bs=1M seek=1 conv=notrunc,sparse status=none
# What grub-bios-setup does: boot.img's code in the MBR (keeping the partition table), the
# boot-drive check disabled, core.img from sector 1.
dd if="$rootfs/boot/grub/i386-pc/boot.img" of="$raw" bs=440 count=1 conv=notrunc status=none
printf '\x90\x90' | dd of="$raw" bs=1 seek=$((0x66)) conv=notrunc status=none
dd if="$work/core.img" of="$raw" bs=512 seek=1 conv=notrunc status=none
rm -f "$out"
qemu-img convert -f raw -O vpc -o subformat=dynamic "$raw" "$out"
rm -f "$part" "$raw"
echo "sample disk: $out ($(qemu-img info -f vpc "$out" | grep 'virtual size'))"
