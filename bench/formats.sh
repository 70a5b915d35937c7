#!/usr/bin/env bash
# Compares our conversion of a qcow2 and a VHDX holding ~2 GiB of data to a fixed VHD
# (linuximage convert) with qemu-img convert to a fixed VHD, in the same run, on the same files.
# Also times reading alone: our reader over every allocated extent vs qemu-img convert into qemu's
# null-co driver (which discards what it is given), so neither side writes.
#   [RUNS=3] bench/formats.sh [work-dir] [data-MiB]   (the machine should be otherwise idle)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/limg-bench}
data_mib=${2:-2048}
mkdir -p "$work"
cd "$work"

echo "building (Release)..."
dotnet build -c Release -v q "$repo/src/Azure.LinuxImage.Cli" -o "$work/cli" > build.log 2>&1 || { cat build.log; exit 1; }
dotnet build -c Release -v q "$repo/bench/ReadBench" -o "$work/readbench" > build-rb.log 2>&1 || { cat build-rb.log; exit 1; }

if [ ! -f source.raw ]; then
  # A disk twice the data's size: 8 MiB of data, then an 8 MiB hole, repeated; an MBR so it is a disk.
  disk_mib=$((data_mib * 2))
  truncate -s "${disk_mib}M" source.raw
  printf 'label: dos\nstart=2048, type=83\n' | sfdisk --quiet source.raw
  head -c $((data_mib * 1024 * 1024)) /dev/urandom > data.bin
  for ((i = 0; i < data_mib / 8; i++)); do
    dd if=data.bin of=source.raw bs=8M skip=$i seek=$((i * 2 + 1)) count=1 conv=notrunc status=none
  done
  rm data.bin
  qemu-img convert -f raw -O qcow2 source.raw source.qcow2
  qemu-img convert -f raw -O vhdx source.raw source.vhdx
fi

now() { date +%s.%N; }
# Each timed step starts with nothing dirty in the page cache (else it pays for the previous step's
# writeback), and ends with its output on disk: linuximage convert fsyncs its output, qemu-img
# convert (cache=unsafe for its target) does not, so qemu's step is followed by a timed sync.
time_it() { local t0; sync; t0=$(now); "$@" > /dev/null; echo "$(now) - $t0" | bc; }
qemu_durable() { qemu-img "$@" && sync; }

echo "format  step      ours(s)  qemu(s)  ours/qemu"
for fmt in qcow2 vhdx; do
  # Warm the page cache once so neither side pays for the first read.
  cat "source.$fmt" > /dev/null
  for ((run = 1; run <= ${RUNS:-3}; run++)); do
    rm -f ours.vhd qemu.vhd
    ours=$(time_it "$work/cli/linuximage" convert "source.$fmt" ours.vhd)
    qemu=$(time_it qemu_durable convert -O vpc -o subformat=fixed,force_size=on "source.$fmt" qemu.vhd)
    printf "%-7s convert   %7.2f  %7.2f  %8.2f\n" "$fmt" "$ours" "$qemu" "$(echo "$ours / $qemu" | bc -l)"
    ours=$(time_it dotnet "$work/readbench/ReadBench.dll" "source.$fmt")
    size=$(qemu-img info --output=json "source.$fmt" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
    qemu=$(time_it qemu-img convert -n -f "$fmt" --target-image-opts "source.$fmt" "driver=null-co,size=$size")
    printf "%-7s read      %7.2f  %7.2f  %8.2f\n" "$fmt" "$ours" "$qemu" "$(echo "$ours / $qemu" | bc -l)"
  done
  # Same data: our VHD must compare equal to the source (qemu-img compare reads both as disks).
  qemu-img compare -f raw -F vpc source.raw ours.vhd > /dev/null && echo "$fmt: output identical to the source (qemu-img compare)"
done
rm -f ours.vhd qemu.vhd
