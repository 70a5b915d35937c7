#!/usr/bin/env bash
# Builds samples/disks/debian-xfs.vhd: the sample's Debian 12 (the cached debootstrap tree of
# make-sample-disk.sh) with XFS /boot on partition 1 and an XFS root on partition 2, MBR, bootable
# from BIOS: GRUB's core.img reads XFS (biosdisk part_msdos xfs search_fs_uuid) and finds /boot by
# its UUID; grub.cfg names kernel paths relative to /boot and the root by its XFS UUID; xfs is
# listed in /etc/initramfs-tools/modules (Debian's MODULES=most initramfs already carries it).
# Needs root: the trees go into XFS through a loop mount. The cached tree is never changed: the
# differences are written over the copy.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/disk-steps.sh"
out="$here/samples/disks/debian-xfs.vhd"
boot_uuid=9d1e2f3a-4b5c-4d6e-8f70-a1b2c3d4e5f6
root_uuid=2c4b6d8e-0f1a-4b3c-9d5e-7f8091a2b3c4
mib=$((1024 * 1024))

"$here/scripts/install-test-deps.sh"
ensure_sample_root
rootfs="$sample_cache/rootfs"
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d /var/tmp/limg-xfs-sample.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# What differs from the ext4 sample: fstab, the initramfs module list, and grub.cfg for XFS /boot.
mkdir -p "$tmp/root-changes/etc/initramfs-tools" "$tmp/boot-changes/grub"
cat > "$tmp/root-changes/etc/fstab" <<FSTAB
UUID=$root_uuid / xfs defaults 0 1
UUID=$boot_uuid /boot xfs defaults 0 2
/swapfile none swap sw 0 0
FSTAB
{ cat "$rootfs/etc/initramfs-tools/modules"; echo xfs; } > "$tmp/root-changes/etc/initramfs-tools/modules"
sed -e "s/--set=root $sample_root_uuid/--set=root $boot_uuid/" \
    -e "s/root=UUID=$sample_root_uuid/root=UUID=$root_uuid/" \
    -e 's/insmod ext2/insmod xfs/' \
    -e 's#^\(\s*\)\(linux\|initrd\)\(\s\+\)/boot/#\1\2\3/#' \
    "$rootfs/boot/grub/grub.cfg" > "$tmp/boot-changes/grub/grub.cfg"
grep -q "root=UUID=$root_uuid" "$tmp/boot-changes/grub/grub.cfg" && ! grep -q "/boot/vmlinuz" "$tmp/boot-changes/grub/grub.cfg" \
  || { echo "grub.cfg was not adapted to XFS /boot" >&2; exit 1; }

boot="$tmp/boot.xfs" root="$tmp/root.xfs" raw="$tmp/disk.raw"
truncate -s $((512 * mib)) "$boot"
mkfs.xfs -q -m uuid="$boot_uuid" -L boot "$boot"
xfs_fill "$boot" "$rootfs/boot"
xfs_fill "$boot" "$tmp/boot-changes"
truncate -s $((1536 * mib)) "$root"
mkfs.xfs -q -m uuid="$root_uuid" -L rootfs "$root"
xfs_fill "$root" "$rootfs" --exclude='./boot/*'
xfs_fill "$root" "$tmp/root-changes"

# GRUB from the tree's own modules (as grub-install would), finding /boot by UUID.
printf 'search.fs_uuid %s root hd0,msdos1\nset prefix=($root)/grub\n' "$boot_uuid" > "$tmp/load.cfg"
grub-mkimage -d "$rootfs/usr/lib/grub/i386-pc" -O i386-pc -c "$tmp/load.cfg" -p /grub -o "$tmp/core.img" biosdisk part_msdos xfs search_fs_uuid
truncate -s $((mib + 512 * mib + 1536 * mib)) "$raw"
printf 'label: dos\nstart=2048, size=%d, type=83, bootable\nstart=%d, size=%d, type=83\n' \
  $((512 * 2048)) $((513 * 2048)) $((1536 * 2048)) | sfdisk -q "$raw"
place "$boot" "$raw" "$mib"
place "$root" "$raw" $((513 * mib))
grub_bios_setup "$raw" "$rootfs/boot/grub/i386-pc/boot.img" "$tmp/core.img" 1 2048
to_vhd "$raw" "$out"
echo "XFS sample disk: $out"
