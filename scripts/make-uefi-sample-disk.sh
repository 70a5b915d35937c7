#!/usr/bin/env bash
# Builds samples/disks/debian-uefi.vhd: the sample's Debian 12 root (the cached debootstrap tree of
# make-sample-disk.sh) on a GPT disk for Generation 2: an EFI system partition (FAT32) with GRUB for
# x86_64-efi in EFI/debian (a stub grub.cfg that loads /boot/grub/grub.cfg, as Debian installs it)
# and the removable-media fallback loader EFI/BOOT/BOOTX64.EFI, and the ext4 root. fstab mounts the
# ESP at /boot/efi by its FAT serial.
# Also builds samples/disks/debian-uefi-nofallback.vhd: the same disk without EFI/BOOT/BOOTX64.EFI,
# which a VM with empty NVRAM cannot boot, and samples/disks/debian-hybrid.vhd: the disk that boots
# both ways, laid out as Ubuntu's cloud images are (partition 14 a BIOS boot partition holding
# GRUB's i386-pc core.img, boot.img in the protective MBR; partition 15 the ESP; partition 1 the root).
# Needs root for the cached tree; no loop devices, nothing mounted. The tree is never changed:
# the UEFI differences are written into the new ext4 image with debugfs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/disk-steps.sh"
rootfs="$sample_cache/rootfs"
uuid="$sample_root_uuid"
serial=ABCD2026
outdir="$here/samples/disks"

"$here/scripts/install-test-deps.sh"
# The BIOS sample's script makes (or reuses) the root tree with its initramfs and grub.cfg.
ensure_sample_root
mkdir -p "$outdir"
tmp=$(mktemp -d /var/tmp/limg-uefi.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

part="$tmp/root.ext4"
mke2fs -q -t ext4 -d "$rootfs" -L rootfs -U "$uuid" -E root_owner=0:0 "$part" 1G
cat > "$tmp/fstab" <<FSTAB
UUID=$uuid / ext4 errors=remount-ro 0 1
UUID=${serial:0:4}-${serial:4:4} /boot/efi vfat umask=0077 0 1
FSTAB
# GRUB's x86_64-efi modules where grub-install puts them (grub.cfg insmods from there). The build
# machine's grub-efi-amd64-bin is Debian 12's, the same GRUB as the tree's grub-pc-bin.
{
  echo "rm /etc/fstab"
  echo "write $tmp/fstab /etc/fstab"
  echo "mkdir /boot/efi"
  echo "mkdir /boot/grub/x86_64-efi"
  for f in /usr/lib/grub/x86_64-efi/*.mod /usr/lib/grub/x86_64-efi/*.lst; do
    echo "write $f /boot/grub/x86_64-efi/$(basename "$f")"
  done
} > "$tmp/debugfs.cmd"
debugfs -w -f "$tmp/debugfs.cmd" "$part" >/dev/null 2>"$tmp/debugfs.err" || { cat "$tmp/debugfs.err" >&2; exit 1; }
e2fsck -fn "$part" >/dev/null

# GRUB as Debian's grub-install builds it for the ESP: prefix /EFI/debian on the device it was loaded from.
grub-mkimage -O x86_64-efi -p /EFI/debian -o "$tmp/grubx64.efi" \
  part_gpt part_msdos fat ext2 search_fs_uuid search normal configfile linux gzio all_video efi_gop echo test
printf 'search.fs_uuid %s root\nset prefix=($root)'"'"'/boot/grub'"'"'\nconfigfile $prefix/grub.cfg\n' "$uuid" > "$tmp/stub.cfg"

# GRUB for BIOS boot on GPT, as grub-install puts it in the BIOS boot partition: from the tree's own
# i386-pc modules (the ones its /boot/grub/i386-pc holds), finding the root by UUID.
printf 'search.fs_uuid %s root hd0,gpt1\nset prefix=($root)/boot/grub\n' "$uuid" > "$tmp/load.cfg"
grub-mkimage -O i386-pc -d "$rootfs/usr/lib/grub/i386-pc" -c "$tmp/load.cfg" -p /boot/grub -o "$tmp/core.img" \
  biosdisk part_gpt ext2 search_fs_uuid

make_disk() { # output-name with-fallback layout (uefi: ESP and root; hybrid: BIOS boot partition too)
  local esp="$tmp/esp.img" raw="$tmp/disk.raw" esp_mib
  rm -f "$esp" "$raw"
  mkfs.vfat -C -F 32 -s 1 -i "$serial" -n EFI "$esp" $((64 * 1024)) >/dev/null
  mmd -i "$esp" ::/EFI ::/EFI/debian
  mcopy -i "$esp" "$tmp/grubx64.efi" ::/EFI/debian/grubx64.efi
  mcopy -i "$esp" "$tmp/stub.cfg" ::/EFI/debian/grub.cfg
  if [ "$2" = yes ]; then
    mmd -i "$esp" ::/EFI/BOOT
    mcopy -i "$esp" "$tmp/grubx64.efi" ::/EFI/BOOT/BOOTX64.EFI
  fi
  fsck.vfat -n "$esp" >/dev/null
  # 1 MiB (and a 1 MiB BIOS boot partition on the hybrid disk), a 64 MiB ESP, a 1 GiB root, and
  # room for the backup GPT.
  if [ "$3" = hybrid ]; then esp_mib=2; else esp_mib=1; fi
  truncate -s $(( (esp_mib + 64 + 1024 + 1) * 1024 * 1024 )) "$raw"
  {
    echo 'label: gpt'
    if [ "$3" = hybrid ]; then
      printf '%s14 : start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name="BIOS boot"\n' "$raw"
      printf '%s15 : ' "$raw"
    fi
    printf 'start=%d, size=%d, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System"\n' $((esp_mib * 2048)) $((64 * 2048))
    if [ "$3" = hybrid ]; then printf '%s1 : ' "$raw"; fi
    printf 'start=%d, size=%d, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root\n' $(((esp_mib + 64) * 2048)) $((1024 * 2048))
  } | sfdisk -q "$raw"
  place "$esp" "$raw" $((esp_mib * 1024 * 1024))
  place "$part" "$raw" $(((esp_mib + 64) * 1024 * 1024))
  if [ "$3" = hybrid ]; then
    grub_bios_setup "$raw" "$rootfs/boot/grub/i386-pc/boot.img" "$tmp/core.img" 2048 4096
  fi
  to_vhd "$raw" "$outdir/$1"
  rm -f "$raw" "$esp"
  echo "UEFI sample disk: $outdir/$1"
}
make_disk debian-uefi.vhd yes uefi
make_disk debian-uefi-nofallback.vhd no uefi
make_disk debian-hybrid.vhd yes hybrid
