#!/usr/bin/env bash
# Builds small seed images (a 4 MiB raw disk with an MBR and data in two places) in every sub-format,
# and small btrfs file systems for the btrfs reader.
set -euo pipefail
out=${1:-$(dirname "$0")/seeds}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
raw=$tmp/seed.raw
truncate -s 4M "$raw"
printf 'label: dos\nstart=2048, type=83\n' | sfdisk --quiet "$raw"
head -c 200000 /dev/urandom | dd of="$raw" bs=1000 seek=1100 conv=notrunc status=none
(yes "recognisable text for the fuzzer" || true) | head -c 300000 | dd of="$raw" bs=1000 seek=3000 conv=notrunc status=none
q() { qemu-img convert -f raw "$@"; }
q -O qcow2 -o cluster_size=4096 "$raw" "$out/plain.qcow2"
q -O qcow2 -o compat=0.10,cluster_size=4096 "$raw" "$out/v2.qcow2"
q -O qcow2 -c -o cluster_size=4096 "$raw" "$out/deflate.qcow2"
q -O qcow2 -c -o cluster_size=4096,compression_type=zstd "$raw" "$out/zstd.qcow2"
q -O qcow2 -o extended_l2=on,cluster_size=16384 "$raw" "$out/extl2.qcow2"
q -O vhdx -o block_size=1M,log_size=1M "$raw" "$out/dynamic.vhdx"
# The harness writes each input to input.<ext>; a VMDK's embedded descriptor names its own file, so
# the VMDK seeds are made under that name.
q -O vmdk -o subformat=monolithicSparse "$raw" "$tmp/input.vmdk" && mv "$tmp/input.vmdk" "$out/sparse.vmdk"
q -O vmdk -o subformat=streamOptimized "$raw" "$tmp/input.vmdk" && mv "$tmp/input.vmdk" "$out/stream.vmdk"
q -O vdi "$raw" "$out/dynamic.vdi"
# btrfs (about 14 MiB: --shrink, or mkfs grows the file to 45 MiB): a small tree with inline, regular and sparse files,
# links and a wide directory, in each served checksum and with 4 KiB nodes (deeper trees).
btree=$tmp/btree
mkdir -p "$btree/etc" "$btree/usr/many"
echo 'UUID=1 / btrfs defaults 0 0' > "$btree/etc/fstab"
head -c 50000 /dev/urandom > "$btree/usr/blob"
truncate -s 1M "$btree/usr/sparse"
ln -s /usr/share/zoneinfo/UTC "$btree/etc/localtime"
for i in $(seq 1 150); do echo "file $i" > "$btree/usr/many/entry-$i"; done
b() { truncate -s 16M "$out/$1.btrfs"; mkfs.btrfs -q -f -m single -d single --shrink --rootdir "$btree" "${@:2}" "$out/$1.btrfs" >/dev/null; }
b crc32c
b xxhash --csum xxhash
b sha256 --csum sha256
b node4k --nodesize 4096
# XFS (16 MiB: mkfs.xfs refuses under 300 MiB unless run as fstests runs it, TEST_DEV set), from a
# protofile: short-form, block, leaf and node directories, local and remote symlinks, a multi-block
# file; v5 (CRC) and v4, 1 KiB blocks, 8 KiB directory blocks, reflink+rmapbt.
xproto=$tmp/xfs.proto
{
  echo "seed"; echo "0 0"; echo "d--755 0 0"
  echo "etc d--755 0 0"; echo "fstab ---644 0 0 $btree/etc/fstab"; echo "os-release ---644 0 0 $btree/etc/fstab"; echo '$'
  echo "localtime l--777 0 0 /usr/share/zoneinfo/UTC"
  echo "blob ---644 0 0 $btree/usr/blob"
  echo "wide d--755 0 0"
  for i in $(seq 1 40); do echo "entry-with-a-longer-name-$i ---644 0 0 $btree/etc/fstab"; done
  echo '$'
  echo "huge d--755 0 0"
  for i in $(seq 1 600); do echo "node-form-directory-entry-number-$i ---644 0 0 $btree/etc/fstab"; done
  echo '$'
  echo '$'
} > "$xproto"
x() { rm -f "$out/$1.xfs"; truncate -s 16M "$out/$1.xfs"; TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 mkfs.xfs -q -f -p "$xproto" "${@:2}" "$out/$1.xfs" >/dev/null; }
x v5
x v4 -m crc=0
x block1k -b size=1024
x dir8k -n size=8192
x reflink -m reflink=1,rmapbt=1
# FAT12, FAT16 and FAT32 volumes (an ESP's file system) with long names, nested directories and a multi-cluster file.
fat() { # name bits KiB [mkfs options]
  local img="$out/$1.fat"; local bits=$2 kib=$3; shift 3
  rm -f "$img"; mkfs.vfat -C -F "$bits" "$@" "$img" "$kib" >/dev/null
  head -c 20000 /dev/urandom > "$tmp/loader"; printf 'configfile $prefix/grub.cfg\n' > "$tmp/cfg"
  mmd -i "$img" ::/EFI ::/EFI/BOOT ::/EFI/debian
  mcopy -i "$img" "$tmp/loader" ::/EFI/BOOT/BOOTX64.EFI
  mcopy -i "$img" "$tmp/cfg" "::/EFI/debian/grub.cfg"
  mcopy -i "$img" "$tmp/cfg" "::/EFI/debian/A long file name.cfg"
}
fat fat12 12 1024
fat fat16 16 4096 -s 1
# FAT32 needs 65,525 clusters: 34 MB of 512-byte clusters (sparse; beyond AFL's limit, for mutate).
fat fat32 32 34000 -s 1
# A VHDX with a log to replay (qemu-img never leaves one): made by the harness itself.
dotnet run -c Release --project "$(dirname "$0")" -- logseed "$out/dynamic.vhdx" "$out/logged.vhdx"
ls -la "$out"
