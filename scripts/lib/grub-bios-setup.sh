# Sourced by the sample-disk scripts: GRUB for BIOS boot without grub-install.

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
