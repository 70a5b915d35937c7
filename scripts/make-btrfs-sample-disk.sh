#!/usr/bin/env bash
# Builds samples/disks/debian-btrfs.vhd: the sample's Debian 12 (the cached debootstrap tree of
# make-sample-disk.sh) on a btrfs root, /boot inside it, MBR, bootable from BIOS: GRUB's core.img
# reads btrfs (biosdisk part_msdos btrfs search_fs_uuid) and finds the root by its UUID; btrfs is
# listed in /etc/initramfs-tools/modules. The root is the top-level subvolume, the default, as a
# plain `mkfs.btrfs` install leaves it. Needs root: the tree goes in through a loop mount. The
# cached tree is never changed: the differences are written over the copy.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/disk-steps.sh"
out="$here/samples/disks/debian-btrfs.vhd"
root_uuid=7e3a1c5b-9d2f-4e8a-b6c4-0f1e2d3c4b5a
mib=$((1024 * 1024))

"$here/scripts/install-test-deps.sh"
ensure_sample_root
rootfs="$sample_cache/rootfs"
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d /var/tmp/limg-btrfs-sample.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# What differs from the ext4 sample: fstab, the initramfs module list, and grub.cfg for btrfs.
mkdir -p "$tmp/changes/etc/initramfs-tools" "$tmp/changes/boot/grub"
cat > "$tmp/changes/etc/fstab" <<FSTAB
UUID=$root_uuid / btrfs defaults 0 0
/swapfile none swap sw 0 0
FSTAB
{ cat "$rootfs/etc/initramfs-tools/modules"; echo btrfs; } > "$tmp/changes/etc/initramfs-tools/modules"
sed -e "s/$sample_root_uuid/$root_uuid/g" -e 's/insmod ext2/insmod btrfs/' \
    "$rootfs/boot/grub/grub.cfg" > "$tmp/changes/boot/grub/grub.cfg"
grep -q "root=UUID=$root_uuid" "$tmp/changes/boot/grub/grub.cfg" && grep -q "insmod btrfs" "$tmp/changes/boot/grub/grub.cfg" \
  || { echo "grub.cfg was not adapted to btrfs" >&2; exit 1; }

root="$tmp/root.btrfs" raw="$tmp/disk.raw"
truncate -s $((2048 * mib)) "$root"
mkfs.btrfs -q -f -U "$root_uuid" -L rootfs "$root" >/dev/null
loop_fill "$root" "$rootfs"
loop_fill "$root" "$tmp/changes"
btrfs check --readonly "$root" >/dev/null 2>&1 || { echo "btrfs check: $root is not clean" >&2; exit 1; }

printf 'search.fs_uuid %s root hd0,msdos1\nset prefix=($root)/boot/grub\n' "$root_uuid" > "$tmp/load.cfg"
grub-mkimage -d "$rootfs/usr/lib/grub/i386-pc" -O i386-pc -c "$tmp/load.cfg" -p /boot/grub -o "$tmp/core.img" biosdisk part_msdos btrfs search_fs_uuid
truncate -s $((mib + 2048 * mib)) "$raw"
printf 'label: dos\nstart=2048, size=%d, type=83, bootable\n' $((2048 * 2048)) | sfdisk -q "$raw"
place "$root" "$raw" "$mib"
grub_bios_setup "$raw" "$rootfs/boot/grub/i386-pc/boot.img" "$tmp/core.img" 1 2048
to_vhd "$raw" "$out"
echo "btrfs sample disk: $out"
