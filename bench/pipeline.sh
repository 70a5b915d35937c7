#!/usr/bin/env bash
# The whole pipeline against its peers, measured in one run (issue 14). For the sample disk
# (samples/disks/debian-minimal.vhd, made by scripts/make-sample-disk.sh) as qcow2, with its zstd
# initramfs and with the same initramfs recompressed with gzip -9, RUNS times each, medians:
#   - the first build's own work (first `dotnet build` minus a no-op build) vs
#     `qemu-img convert -O vpc -o subformat=fixed,force_size=on`, both followed by sync;
#   - a rebuild after one changed KernelParameter vs a no-op build;
#   - peak RSS: the largest process of the build, and the largest linuximage tool process;
#   - `linuximage convert` vs qemu-img on this machine's file system and on a loop-mounted XFS
#     (reflink) build folder (needs root; skipped otherwise);
#   - peak RSS of a build of the same disk grown to 1 TiB virtual size.
# Usage: bench/pipeline.sh [--short] [runs]
#   --short: one run of each step, zstd only, no XFS or 1 TiB disk (CI: proves the bench runs).
# LIMG_BENCH_FEED and LIMG_BENCH_VERSION select an already packed SDK (to measure an older build);
# otherwise this checkout is packed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
short=0
if [ "${1:-}" = "--short" ]; then short=1; shift; fi
runs=${1:-5}
[ "$short" = 1 ] && runs=1
sample="${LIMG_BENCH_SAMPLE:-$here/samples/disks/debian-minimal.vhd}"
[ -f "$sample" ] || "$here/scripts/make-sample-disk.sh"

work=$(mktemp -d /var/tmp/limg-pipeline.XXXXXX)
xfs_mount="$work/xfs"
cleanup() {
  if mountpoint -q "$xfs_mount" 2>/dev/null; then umount "$xfs_mount"; fi
  rm -rf "$work"
}
trap cleanup EXIT

feed=${LIMG_BENCH_FEED:-}
version=${LIMG_BENCH_VERSION:-}
if [ -z "$feed" ]; then
  version="1.0.0-bench.$(date +%Y%m%d%H%M%S).$$"
  feed="$work/feed"
  dotnet pack "$here/src/Azure.LinuxImage.Sdk" -c Release -nologo -v:q -nr:false "-p:Version=$version" "-p:PackageOutputPath=$feed/" >/dev/null
fi
mkdir -p "$work/sdk"
(cd "$work/sdk" && unzip -q "$feed/Azure.LinuxImage.Sdk.$version.nupkg")
cli="$work/sdk/tools/cli/linuximage.dll"
echo "SDK $version; sample $(basename "$sample"); $runs run(s) per step"

# Peak RSS of every linuximage process: the dotnet CLI sets DOTNET_HOST_PATH itself, so the tool
# cannot be wrapped; a sampler reads each tool process's VmHWM (its peak so far) every 0.1 s.
sample_tools() {
  while :; do
    for d in /proc/[0-9]*; do
      if grep -qs linuximage.dll "$d/cmdline"; then
        awk '/^VmHWM/ {print $2}' "$d/status" 2>/dev/null
      fi
    done >> "$work/tool-rss"
    sleep 0.1
  done
}
touch "$work/tool-rss"
sample_tools &
sampler=$!
trap 'kill $sampler 2>/dev/null || true; cleanup' EXIT

# Variants: the sample's own zstd initramfs, and the same archive recompressed with gzip -9.
raw="$work/sample.raw"
qemu-img convert -f vpc -O raw "$sample" "$raw"
part="$raw?offset=1048576"
initrd=$(debugfs -R 'ls -p /boot' "$part" 2>/dev/null | awk -F/ '$6 ~ /^initrd.img-/ {print $6; exit}')
[ -n "$initrd" ] || { echo "no initrd.img in the sample's /boot" >&2; exit 1; }
variants=(zstd)
qemu-img convert -f raw -O qcow2 "$raw" "$work/zstd.qcow2"
if [ "$short" = 0 ]; then
  debugfs -R "dump /boot/$initrd $work/initrd.zst" "$part" 2>/dev/null
  zstd -q -dc "$work/initrd.zst" | gzip -9 -n > "$work/initrd.gz"
  debugfs -w -R "rm /boot/$initrd" "$part" >/dev/null 2>&1
  debugfs -w -R "write $work/initrd.gz /boot/$initrd" "$part" >/dev/null 2>&1
  e2fsck -fn "$part" >/dev/null
  qemu-img convert -f raw -O qcow2 "$raw" "$work/gzip.qcow2"
  variants+=(gzip)
  echo "initramfs: zstd $(stat -c %s "$work/initrd.zst") bytes, gzip $(stat -c %s "$work/initrd.gz") bytes"
fi
rm -f "$raw"

make_project() { # dir source
  mkdir -p "$1"
  cat > "$1/NuGet.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config><add key="globalPackagesFolder" value="$work/packages" /></config>
  <packageSources><clear /><add key="bench" value="$feed" /></packageSources>
</configuration>
EOF
  cat > "$1/Bench.imgproj" <<EOF
<Project Sdk="Azure.LinuxImage.Sdk/$version">
  <PropertyGroup>
    <SourceDisk>$2</SourceDisk>
    <ImageSizeMiB Condition="'\$(BenchSizeMiB)' != ''">\$(BenchSizeMiB)</ImageSizeMiB>
  </PropertyGroup>
  <ItemGroup>
    <WaagentSetting Include="Provisioning.Agent" Value="waagent" />
    <KernelParameter Include="\$(BenchParameter)" Condition="'\$(BenchParameter)' != ''" />
  </ItemGroup>
</Project>
EOF
}

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1
build() { # dir [msbuild args] → the build, under the measuring host
  local dir=$1; shift
  dotnet build "$dir/Bench.imgproj" -nologo -v:q -nr:false "$@" > "$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; exit 1; }
}
export work
export -f build
measure() { # name file command... → appends "seconds peak_KiB" to $work/name.times
  # The output file is fsync'd inside the timing (qemu-img does not sync, our build does not
  # either); the whole machine is synced before, outside it.
  local name=$1 file=$2; shift 2
  sync
  /usr/bin/time -f "%e %M" -o "$work/t" bash -c 'f=$1; shift; "$@" && sync "$f"' _ "$file" "$@"
  cat "$work/t" >> "$work/$name.times"
  echo "  $name: $(cat "$work/t")"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { cut -d' ' -f"$2" "$work/$1.times" | median; }

for v in "${variants[@]}"; do
  p="$work/proj-$v"
  make_project "$p" "$work/$v.qcow2"
  build "$p" # restore, and the JIT's disk caches warm
  : > "$work/tool-rss"
  for r in $(seq 1 "$runs"); do
    rm -f "$work/out.vhd"
    measure "qemu-$v" "$work/out.vhd" qemu-img convert -f qcow2 -O vpc -o subformat=fixed,force_size=on "$work/$v.qcow2" "$work/out.vhd"
    rm -f "$work/out.vhd"
    rm -rf "$p/bin" "$p/obj/Debug"
    measure "first-$v" "$p/bin/Debug/Bench.vhd" build "$p"
    measure "noop-$v" "$p/bin/Debug/Bench.vhd" build "$p"
    measure "param-$v" "$p/bin/Debug/Bench.vhd" build "$p" "-p:BenchParameter=bench.run=$r"
    measure "noop2-$v" "$p/bin/Debug/Bench.vhd" build "$p" "-p:BenchParameter=bench.run=$r"
  done
  sort -n "$work/tool-rss" | tail -1 > "$work/tool-rss-$v"; : > "$work/tool-rss"
  [ -f "$p/bin/Debug/Bench.validation.json" ] || { echo "the $v build wrote no validation report" >&2; exit 1; }
done

# Conversion alone: this machine's file system, then a loop-mounted XFS with reflink.
convert_pair() { # label dir
  local dir=$1
  for r in $(seq 1 "$runs"); do
    rm -f "$dir/out.vhd"
    measure "ours-$2" "$dir/out.vhd" dotnet "$cli" convert "$dir/zstd.qcow2" "$dir/out.vhd"
    rm -f "$dir/out.vhd"
    measure "qemu-$2" "$dir/out.vhd" qemu-img convert -f qcow2 -O vpc -o subformat=fixed,force_size=on "$dir/zstd.qcow2" "$dir/out.vhd"
  done
  dotnet "$cli" convert "$dir/zstd.qcow2" "$dir/out.vhd" >/dev/null
  qemu-img compare -q -f qcow2 -F vpc "$dir/zstd.qcow2" "$dir/out.vhd"
  rm -f "$dir/out.vhd"
}
fs_here=$(stat -f -c %T "$work")
convert_pair "$work" here
filesystems=(here)
if [ "$short" = 0 ] && [ "$(id -u)" = 0 ] && command -v mkfs.xfs >/dev/null; then
  truncate -s 8G "$work/xfs.img"
  mkfs.xfs -q -m reflink=1 "$work/xfs.img"
  mkdir -p "$xfs_mount"
  mount -o loop "$work/xfs.img" "$xfs_mount"
  cp "$work/zstd.qcow2" "$xfs_mount/zstd.qcow2"
  convert_pair "$xfs_mount" xfs
  filesystems+=(xfs)
  umount "$xfs_mount"
  rm -f "$work/xfs.img"
fi

# A disk of 1 TiB virtual size: peak memory of each process of its build.
if [ "$short" = 0 ]; then
  p="$work/proj-1t"
  make_project "$p" "$work/zstd.qcow2"
  : > "$work/tool-rss"
  measure big "$p/bin/Debug/Bench.vhd" build "$p" -p:BenchSizeMiB=1048576
  sort -n "$work/tool-rss" | tail -1 > "$work/tool-rss-1t"
fi

echo
echo "| step | median | peer | peer median | ratio |"
echo "|---|---|---|---|---|"
for v in "${variants[@]}"; do
  q=$(col "qemu-$v" 1); f=$(col "first-$v" 1); n=$(col "noop-$v" 1); k=$(col "param-$v" 1)
  awk -v v="$v" -v q="$q" -v f="$f" -v n="$n" -v k="$k" 'BEGIN {
    printf "| %s: first build minus no-op build (pipeline work) | %.2f s | qemu-img convert + sync | %.2f s | %.2fx |\n", v, f - n, q, (f - n) / q
    printf "| %s: rebuild after one kernel parameter | %.2f s | no-op build | %.2f s | %.2fx |\n", v, k, n, k / n }'
done
for v in "${variants[@]}"; do
  echo "| $v: peak RSS, largest process of the build | $(( $(cut -d' ' -f2 "$work/first-$v.times" | sort -n | tail -1) / 1024 )) MiB | | | |"
  echo "| $v: peak RSS, largest linuximage process | $(awk '{m=$1} END {print int(m/1024)}' "$work/tool-rss-$v") MiB | | | |"
done
if [ -f "$work/big.times" ]; then
  echo "| 1 TiB virtual: peak RSS, largest process of the build | $(( $(cut -d' ' -f2 "$work/big.times") / 1024 )) MiB | | | |"
  echo "| 1 TiB virtual: peak RSS, largest linuximage process | $(awk '{m=$1} END {print int(m/1024)}' "$work/tool-rss-1t") MiB | | | |"
fi
for f in "${filesystems[@]}"; do
  label=$f; [ "$f" = here ] && label=$fs_here
  o=$(col "ours-$f" 1); q=$(col "qemu-$f" 1)
  awk -v l="$label" -v o="$o" -v q="$q" 'BEGIN { printf "| convert on %s (linuximage convert + sync) | %.2f s | qemu-img convert + sync | %.2f s | %.2fx |\n", l, o, q, o / q }'
done
