#!/usr/bin/env bash
# bench/guest-fs.sh [xfs|btrfs|ext4] [GiB] [rounds]
# The patch step's file-system work on a multi-GiB root (issue 9's speed figure, and the same for
# btrfs and ext4): the sample Debian tree (scripts/make-sample-disk.sh) copied into a GiB-sized file
# system with the rest filled by a file of random data, then GuestBench times, inside the engine,
# assembling the mounts, reading every file under /etc and /boot and writing three changed files.
# Needs root (it loop-mounts the file system to fill it, as a user's machine would have); the
# product itself never mounts.
set -euo pipefail
fs=${1:-xfs}; gib=${2:-4}; rounds=${3:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
tree=/var/tmp/limg-sample-cache/rootfs
[ -f /var/tmp/limg-sample-cache/rootfs.complete ] || "$repo/scripts/make-sample-disk.sh" >/dev/null
work=$(mktemp -d /var/tmp/limg-guestbench.XXXXXX)
mnt=$work/mnt
cleanup() { mountpoint -q "$mnt" && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
img=$work/root.$fs
uuid=$(cat /proc/sys/kernel/random/uuid)
truncate -s "${gib}G" "$img"
case $fs in
  xfs) mkfs.xfs -q -f -m uuid="$uuid" "$img" ;;
  btrfs) mkfs.btrfs -q -f -U "$uuid" "$img" >/dev/null ;;
  ext4) mkfs.ext4 -q -F -U "$uuid" "$img" ;;
  *) echo "file system: xfs, btrfs or ext4" >&2; exit 2 ;;
esac
mkdir -p "$mnt"
mount -o loop "$img" "$mnt"
cp -a "$tree/." "$mnt/"
echo "UUID=$uuid / $fs defaults 0 1" > "$mnt/etc/fstab"
used=$(df --output=used -B1M "$mnt" | tail -n 1)
fill=$(( gib * 1024 - used - 600 ))
[ "$fill" -gt 0 ] && head -c "${fill}M" /dev/urandom > "$mnt/var/filler"
df -h --output=size,used "$mnt" | tail -n 1 | sed "s/^/$fs root (size, used): /"
umount "$mnt"
dotnet build -c Release -v q -nologo "$repo/bench/GuestBench" -o "$work/bin" >/dev/null
dotnet "$work/bin/GuestBench.dll" "$img" "$rounds"
