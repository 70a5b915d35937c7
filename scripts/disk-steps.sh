# Steps shared by the scripts that build sample disks (sourced, not run): the cached Debian root,
# placing a file system at its offset, GRUB's BIOS boot code, XFS filled through a loop mount, LVM
# metadata on a loop device without device-mapper, and the dynamic VHD the samples are stored as.
# The caller sets `here` (the checkout) and `set -euo pipefail`.

sample_cache="${LIMG_SAMPLE_CACHE:-/var/tmp/limg-sample-cache}"
sample_root_uuid="${SAMPLE_ROOT_UUID:-6b1f6c3e-8d1a-4d8e-9a53-0c2f9e5d7a11}"

# The debootstrapped tree with its initramfs, grub.cfg and core.img (made by make-sample-disk.sh).
ensure_sample_root() {
  if [ ! -f "$sample_cache/rootfs.complete" ] || [ ! -f "$sample_cache/rootfs.grub-$sample_root_uuid" ]; then
    "$here/scripts/make-sample-disk.sh"
  fi
}

# place FILE DISK OFFSET_BYTES: a file system image written into a disk image at its offset.
place() {
  dd if="$1" of="$2" bs=1M oflag=seek_bytes seek="$3" conv=notrunc,sparse status=none
}

# le64 VALUE: the eight little-endian bytes of VALUE.
le64() {
  local v=$1 i s=''
  for i in 0 1 2 3 4 5 6 7; do s+=$(printf '\\x%02x' $(( (v >> (8 * i)) & 255 ))); done
  printf "$s"
}

# grub_bios_setup DISK BOOT_IMG CORE_IMG SECTOR LIMIT
# What grub-bios-setup does: boot.img's code in the MBR (keeping the disk signature and the
# partition table), the boot-drive check disabled (two NOPs at 0x66, as for hard disks), and
# core.img written at SECTOR, which must end before LIMIT: after the MBR on an MBR disk, in the BIOS
# boot partition on GPT (the GPT itself follows the protective MBR). boot.img learns where core.img
# starts (its 64-bit LBA at 0x5c), and core.img's first sector, diskboot.img, where the rest lies
# (its blocklist's start, the last 12 bytes of that sector). For SECTOR 1 both are GRUB's defaults.
grub_bios_setup() {
  local disk=$1 boot=$2 core=$3 sector=$4 limit=$5
  local sectors=$(( ($(stat -c %s "$core") + 511) / 512 ))
  if [ $((sector + sectors)) -gt "$limit" ]; then
    echo "core.img ($sectors sectors from $sector) does not fit before sector $limit" >&2
    return 1
  fi
  dd if="$boot" of="$disk" bs=440 count=1 conv=notrunc status=none
  printf '\x90\x90' | dd of="$disk" bs=1 seek=$((0x66)) conv=notrunc status=none
  le64 "$sector" | dd of="$disk" bs=1 seek=$((0x5c)) conv=notrunc status=none
  dd if="$core" of="$disk" bs=512 seek="$sector" conv=notrunc status=none
  le64 $((sector + 1)) | dd of="$disk" bs=1 seek=$((sector * 512 + 512 - 12)) conv=notrunc status=none
}

# to_vhd RAW OUT: the dynamic VHD a user brings from Hyper-V or KVM.
to_vhd() {
  rm -f "$2"
  qemu-img convert -f raw -O vpc -o subformat=dynamic "$1" "$2"
}

# copy_tree TREE DIR [TAR_OPTIONS...]: TREE copied into DIR (a mounted file system) with owners,
# modes and extended attributes (SELinux labels).
copy_tree() {
  local tree=$1 dir=$2
  shift 2
  tar -C "$tree" --xattrs --xattrs-include='*' --numeric-owner "$@" -cf - . | tar -C "$dir" --xattrs --xattrs-include='*' --numeric-owner -xpf -
}

# loop_fill IMAGE TREE [TAR_OPTIONS...]: TREE copied into the (already made) file system IMAGE
# through a loop mount: mkfs.xfs -p cannot set xattrs, and a tree the kernel wrote is what users
# bring. Nothing stays mounted or attached.
loop_fill() {
  local image=$1 tree=$2 mnt
  shift 2
  mnt=$(mktemp -d /var/tmp/limg-fill-mnt.XXXXXX)
  mount -o loop "$image" "$mnt"
  if ! copy_tree "$tree" "$mnt" "$@"; then
    umount "$mnt"; rmdir "$mnt"; return 1
  fi
  umount "$mnt"
  rmdir "$mnt"
}

# standin PATH: a program the SDK only looks for (sample trees are patched offline, never run).
standin() {
  mkdir -p "$(dirname "$1")"
  printf '#!/bin/sh\n# stand-in of a sample tree that is patched offline, never run\nexit 0\n' > "$1"
  chmod 755 "$1"
}

# agent_standin ROOT PYTHON VERSION: WALinuxAgent as the SDK finds it (the waagent script and the
# azurelinuxagent package of PYTHON, e.g. python3.9, stating VERSION); nothing of it runs.
agent_standin() {
  local root=$1 agent="$1/usr/lib/$2/site-packages/azurelinuxagent"
  mkdir -p "$root/usr/sbin" "$agent/common"
  printf '#!/usr/bin/python3 -u\n# stand-in of WALinuxAgent'"'"'s script\n' > "$root/usr/sbin/waagent"; chmod 755 "$root/usr/sbin/waagent"
  : > "$agent/__init__.py"
  printf "AGENT_NAME = 'WALinuxAgent'\nAGENT_VERSION = '%s'\n" "$3" > "$agent/common/version.py"
}

# host_key_standins ROOT MODE: the SSH host keys an installed system has (deprovisioning removes
# them), private ones with MODE (RHEL's 640 for group ssh_keys, 600 elsewhere).
host_key_standins() {
  local k
  mkdir -p "$1/etc/ssh"
  for k in rsa ecdsa ed25519; do
    printf 'stand-in %s host key\n' "$k" > "$1/etc/ssh/ssh_host_${k}_key"; chmod "$2" "$1/etc/ssh/ssh_host_${k}_key"
    printf 'ssh-%s AAAA stand-in\n' "$k" > "$1/etc/ssh/ssh_host_${k}_key.pub"
  done
}

# kernel_modules SRC DEST KVER REGEX: the modules of the installed tree SRC (a /lib/modules/VERSION)
# whose modules.dep paths match REGEX (extended, without `.ko`), with their dependencies, copied to
# DEST/lib/modules/KVER (a depmod base) and indexed there by the real depmod under KVER: Debian's
# kernel stands in for another distribution's under its version name.
kernel_modules() {
  local src=$1 base=$2 kver=$3 regex=$4 list
  local mods="$base/lib/modules/$kver"
  rm -rf "$base"; mkdir -p "$mods"
  list=$(grep -E "^($regex)\.ko:" "$src/modules.dep" | tr ' :' '\n\n' | grep . | sort -u)
  (cd "$src" && cp --parents $list modules.builtin modules.builtin.modinfo modules.order "$mods/")
  depmod -b "$base" "$kver"
}

# xfs_fill IMAGE TREE [TAR_OPTIONS...]: loop_fill, then xfs_repair -n must find it clean.
xfs_fill() {
  loop_fill "$@"
  xfs_repair -n "$1" >/dev/null 2>&1 || { echo "xfs_repair -n: $1 is not clean" >&2; return 1; }
}

# lvm_on LOOP_DEVICE COMMAND ARGS...: an lvm command on one loop device only, without
# device-mapper (nothing is activated), udev or backups written to the build machine's /etc/lvm.
lvm_on() {
  local dev=$1
  shift
  lvm "$@" --driverloaded n --config "devices { filter=[\"a|^$dev\$|\",\"r|.*|\"] obtain_device_list_from_udev=0 } activation { udev_sync=0 udev_rules=0 } backup { backup=0 archive=0 }"
}
