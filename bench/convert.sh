#!/usr/bin/env bash
# Converts a multi-GiB sparse raw disk to a fixed VHD with linuximage and with
# `qemu-img convert -O vpc -o subformat=fixed,force_size` in the same run, alternating, and prints
# median wall time, the ratio ours/qemu and our peak memory. Usage: bench/convert.sh [GiB-virtual] [GiB-data] [runs]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
virtual_gib=${1:-16}
data_gib=${2:-2}
runs=${3:-3}
work=$(mktemp -d /var/tmp/limg-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

dotnet publish "$here/src/Azure.LinuxImage.Cli" -c Release -o "$work/cli" -nologo -v:q >/dev/null
src="$work/source.raw"
truncate -s "${virtual_gib}G" "$src"
# Data in 64 MiB runs spread over the disk, holes between them.
runs_of_data=$((data_gib * 16))
stride=$((virtual_gib * 1024 / runs_of_data))
for i in $(seq 0 $((runs_of_data - 1))); do
  head -c $((64 * 1024 * 1024)) /dev/urandom | dd of="$src" bs=1M seek=$((i * stride + 1)) conv=notrunc,sparse status=none
done
printf '\x55\xaa' | dd of="$src" bs=1 seek=510 conv=notrunc status=none
echo "source: ${virtual_gib} GiB virtual, ${data_gib} GiB of data ($(du -h "$src" | cut -f1) on disk)"

measure() { # name command... → appends "wall_seconds peak_kib" to $work/name.times
  local name=$1; shift
  rm -f "$work/out.vhd"
  sync
  /usr/bin/time -f "%e %M" -o "$work/t" "$@" >/dev/null
  cat "$work/t" >> "$work/$name.times"
}
for r in $(seq 1 "$runs"); do
  measure ours dotnet "$work/cli/linuximage.dll" convert "$src" "$work/out.vhd"
  measure qemu qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on "$src" "$work/out.vhd"
done
qemu-img compare -q -f raw -F vpc "$src" "$work/out.vhd" && echo "qemu-img output identical to the source"
dotnet "$work/cli/linuximage.dll" convert "$src" "$work/out.vhd" >/dev/null
qemu-img compare -q -f raw -F vpc "$src" "$work/out.vhd" && echo "linuximage output identical to the source"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ours=$(cut -d' ' -f1 "$work/ours.times" | median)
qemu=$(cut -d' ' -f1 "$work/qemu.times" | median)
ours_mem=$(cut -d' ' -f2 "$work/ours.times" | median)
qemu_mem=$(cut -d' ' -f2 "$work/qemu.times" | median)
echo "runs: $runs each, alternating"
echo "linuximage convert: median ${ours} s, peak RSS ${ours_mem} KiB"
echo "qemu-img convert:   median ${qemu} s, peak RSS ${qemu_mem} KiB"
awk -v a="$ours" -v b="$qemu" 'BEGIN { printf "time ratio linuximage/qemu-img: %.2f\n", a / b }'
