#!/usr/bin/env bash
# Installs, on a bare Debian machine, every tool the tests use as a judge or to build fixtures.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
pkgs=(qemu-utils qemu-system-x86 e2fsprogs xfsprogs fdisk gdisk lvm2 debootstrap cpio zstd xz-utils lz4 bzip2 gzip
      dosfstools util-linux mount ca-certificates kmod initramfs-tools-core dracut-core)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
