#!/usr/bin/env bash
# Installs, on a bare Debian machine, every tool the tests use as a judge or to build fixtures.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
pkgs=(qemu-utils qemu-system-x86 e2fsprogs xfsprogs btrfs-progs fdisk gdisk lvm2 debootstrap cpio zstd xz-utils lz4 bzip2 gzip
      dosfstools mtools ovmf grub-efi-amd64-bin shim-signed sbsigntool openssl util-linux mount ca-certificates kmod initramfs-tools-core dracut-core grub-pc-bin attr procps)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The SARIF multitool judges the validation's SARIF (SarifReportTests). npm may skip the package's
# postinstall script (which only marks the binary executable), so that is done here as well.
if ! command -v sarif-multitool >/dev/null 2>&1; then
  if ! command -v npm >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  $SUDO npm install -g --no-fund --no-audit @microsoft/sarif-multitool@5.7.0
fi
npm_root=$(npm root -g)
for bin in "$npm_root"/@microsoft/sarif-multitool/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool \
           "$npm_root"/@microsoft/sarif-multitool-linux/Sarif.Multitool; do
  if [ -f "$bin" ] && [ ! -x "$bin" ]; then $SUDO chmod +x "$bin"; fi
done
