#!/usr/bin/env bash
# Builds a second real Debian 12 root for the provisioning tests: the sample's root tree
# (scripts/make-sample-disk.sh) with Debian's cloud-init and chrony installed by apt in a chroot, so
# their postinst scripts write what they write on a real install (cloud.cfg.d/90_dpkg.cfg with
# the datasource_list, chrony.conf, the enabled units). Needs root and Debian's package mirror.
# The sample's tree is only read; the copy is cached beside it and reused.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
sample="${LIMG_SAMPLE_CACHE:-/var/tmp/limg-sample-cache}"
work="${LIMG_CLOUD_INIT_CACHE:-/var/tmp/limg-cloud-init-cache}"
rootfs="$work/rootfs"

[ -f "$work/rootfs.complete" ] && { echo "$rootfs"; exit 0; }
[ -f "$sample/rootfs.complete" ] || "$here/scripts/make-sample-disk.sh" >&2
mkdir -p "$work"
rm -rf "$rootfs"
mkdir -p "$rootfs"
# --one-file-system: another run may have /proc, /sys and /dev bound into the sample's tree.
tar -C "$sample/rootfs" --one-file-system --xattrs -cf - . | tar -C "$rootfs" --xattrs -xf -
mkdir -p "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
for d in proc sys dev; do mount --bind "/$d" "$rootfs/$d"; done
trap 'for d in dev sys proc; do umount -l "$rootfs/$d" 2>/dev/null || true; done' EXIT
chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cloud-init chrony >&2
chroot "$rootfs" apt-get clean
rm -rf "$rootfs/var/lib/apt/lists/"*
for d in dev sys proc; do umount -l "$rootfs/$d"; done
trap - EXIT
touch "$work/rootfs.complete"
echo "$rootfs"
