#!/usr/bin/env bash
# The whole pipeline against its peers, measured in one run (issue 14). For the sample disk
# (samples/disks/debian-minimal.vhd, made by scripts/make-sample-disk.sh) as qcow2, with its
# initramfs recompressed with zstd (-3, zstd's default) and with gzip -9 (what mkinitramfs writes by
# default), RUNS times each, medians:
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
# otherwise this checkout is packed. LIMG_BENCH_BASELINE=<commit> also packs that commit and builds
# it interleaved with this one, run after run, so "before" and "after" share the machine's load.
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
baseline=${LIMG_BENCH_BASELINE:-}
base_version=
if [ -n "$baseline" ] && [ "$short" = 0 ]; then
  base_version="1.0.0-base.$(date +%Y%m%d%H%M%S).$$"
  mkdir -p "$work/base-src"
  git -C "$here" archive "$baseline" | tar -x -C "$work/base-src"
  dotnet pack "$work/base-src/src/Azure.LinuxImage.Sdk" -c Release -nologo -v:q -nr:false "-p:Version=$base_version" "-p:PackageOutputPath=$feed/" >/dev/null
  echo "baseline SDK $base_version from $(git -C "$here" rev-parse --short "$baseline")"
fi
mkdir -p "$work/sdk"
(cd "$work/sdk" && unzip -q "$feed/Azure.LinuxImage.Sdk.$version.nupkg")
cli="$work/sdk/tools/cli/linuximage.dll"
echo "SDK $version; sample $(basename "$sample"); $runs run(s) per step"

# Peak RSS of every linuximage process of this bench (others may build on the same machine: only
# tools from this bench's package folder count): the dotnet CLI sets DOTNET_HOST_PATH itself, so the
# tool cannot be wrapped; a sampler reads each tool process's VmHWM (its peak so far) every 0.1 s,
# with the SDK version it came from. One pgrep a tick and shell builtins otherwise: a sampler that
# forked for every process of the machine ten times a second took a core from what it measured.
sample_tools() {
  local prefix="$work/packages/azure.linuximage.sdk/" pid cmd v key value rest
  while :; do
    for pid in $(pgrep -f "${prefix}.*linuximage.dll"); do
      cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || continue
      case "$cmd" in *"$prefix"*) ;; *) continue ;; esac
      v=${cmd#*"$prefix"}; v=${v%%/*}
      while read -r key value rest; do
        [ "$key" = VmHWM: ] && echo "$value $v"
      done < "/proc/$pid/status" 2>/dev/null || true
    done >> "$work/tool-rss"
    sleep 0.1
  done
}
touch "$work/tool-rss"
sample_tools &
sampler=$!
trap 'kill $sampler 2>/dev/null || true; cleanup' EXIT

# Variants: the sample's initramfs recompressed with zstd, and with gzip -9 (mkinitramfs's default).
raw="$work/sample.raw"
qemu-img convert -f vpc -O raw "$sample" "$raw"
part="$raw?offset=1048576"
initrd=$(debugfs -R 'ls -p /boot' "$part" 2>/dev/null | awk -F/ '$6 ~ /^initrd.img-/ {print $6; exit}')
[ -n "$initrd" ] || { echo "no initrd.img in the sample's /boot" >&2; exit 1; }
variants=(zstd)
[ "$short" = 0 ] && variants+=(gzip)
debugfs -R "dump /boot/$initrd $work/initrd.orig" "$part" 2>/dev/null
# zstd decompresses gzip, xz and zstd alike; the sample's initramfs is one compressed archive.
zstd -q -dc "$work/initrd.orig" > "$work/initrd.cpio"
zstd -q -3 -c "$work/initrd.cpio" > "$work/initrd.zstd"
gzip -9 -n -c "$work/initrd.cpio" > "$work/initrd.gzip"
echo "initramfs: $(file -b "$work/initrd.orig" | cut -d, -f1) in the sample; $(stat -c %s "$work/initrd.cpio") bytes expanded, zstd $(stat -c %s "$work/initrd.zstd") bytes, gzip $(stat -c %s "$work/initrd.gzip") bytes"
rm -f "$work/initrd.cpio"
for v in "${variants[@]}"; do
  debugfs -w -R "rm /boot/$initrd" "$part" >/dev/null 2>&1
  debugfs -w -R "write $work/initrd.$v /boot/$initrd" "$part" >/dev/null 2>&1
  e2fsck -fn "$part" >/dev/null
  qemu-img convert -f raw -O qcow2 "$raw" "$work/$v.qcow2"
done
rm -f "$raw"

make_project() { # dir source [sdk version]
  local sdk=${3:-$version}
  mkdir -p "$1"
  cat > "$1/NuGet.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config><add key="globalPackagesFolder" value="$work/packages" /></config>
  <packageSources><clear /><add key="bench" value="$feed" /></packageSources>
</configuration>
EOF
  cat > "$1/Bench.imgproj" <<EOF
<Project Sdk="Azure.LinuxImage.Sdk/$sdk">
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

sdks=(new)
[ -n "$base_version" ] && sdks+=(base)
for v in "${variants[@]}"; do
  make_project "$work/proj-$v-new" "$work/$v.qcow2" "$version"
  [ -n "$base_version" ] && make_project "$work/proj-$v-base" "$work/$v.qcow2" "$base_version"
  for s in "${sdks[@]}"; do build "$work/proj-$v-$s"; done # restore, and the JIT's disk caches warm
  qemu-img convert -f qcow2 -O vpc -o subformat=fixed,force_size=on "$work/$v.qcow2" "$work/out.vhd"
  : > "$work/tool-rss"
  for r in $(seq 1 "$runs"); do
    # Each measured write starts the same way: its previous output (about 1 GiB) deleted just
    # before, as a first build deletes bin/ and obj/. On this machine's disk (ext4 mounted with
    # discard) the cost of writing depended on what was freed and written just before, by up to 2 s.
    rm -f "$work/out.vhd"
    measure "qemu-$v" "$work/out.vhd" qemu-img convert -f qcow2 -O vpc -o subformat=fixed,force_size=on "$work/$v.qcow2" "$work/out.vhd"
    # Which SDK builds right after qemu-img (following its writes onto the disk) alternates, so
    # that place's cost, if any, falls on both SDKs alike.
    order=("${sdks[@]}")
    if [ $((r % 2)) = 0 ] && [ ${#sdks[@]} = 2 ]; then order=("${sdks[1]}" "${sdks[0]}"); fi
    for s in "${order[@]}"; do
      p="$work/proj-$v-$s"
      rm -rf "$p/bin" "$p/obj/Debug"
      measure "first-$v-$s" "$p/bin/Debug/Bench.vhd" build "$p" -clp:PerformanceSummary
      # Where that build's time went, step by step (MSBuild's own summary; it costs nothing measurable).
      echo "    steps: $(grep -E '^ +[0-9]+ ms +(ConvertImage|AlignImage|PatchImage|ValidateImage) ' "$work/build.log" | awk '{printf "%s %s ms  ", $3, $1}')"
      measure "noop-$v-$s" "$p/bin/Debug/Bench.vhd" build "$p"
      measure "param-$v-$s" "$p/bin/Debug/Bench.vhd" build "$p" "-p:BenchParameter=bench.run=$r"
      measure "noop2-$v-$s" "$p/bin/Debug/Bench.vhd" build "$p" "-p:BenchParameter=bench.run=$r"
      [ -f "$p/bin/Debug/Bench.validation.json" ] || { echo "the $v build ($s) wrote no validation report" >&2; exit 1; }
    done
  done
  awk -v v="$version" '$2 == v' "$work/tool-rss" | sort -n | tail -1 > "$work/tool-rss-$v-new"
  [ -n "$base_version" ] && awk -v v="$base_version" '$2 == v' "$work/tool-rss" | sort -n | tail -1 > "$work/tool-rss-$v-base"
  : > "$work/tool-rss"
  rm -f "$work/out.vhd"
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
  make_project "$p" "$work/zstd.qcow2" "$version"
  : > "$work/tool-rss"
  measure big "$p/bin/Debug/Bench.vhd" build "$p" -p:BenchSizeMiB=1048576
  sort -n "$work/tool-rss" | tail -1 > "$work/tool-rss-1t"
fi

echo
echo "| step | SDK | median | peer | peer median | ratio |"
echo "|---|---|---|---|---|---|"
for v in "${variants[@]}"; do
  for s in "${sdks[@]}"; do
    q=$(col "qemu-$v" 1); f=$(col "first-$v-$s" 1); n=$(col "noop-$v-$s" 1); k=$(col "param-$v-$s" 1); n2=$(col "noop2-$v-$s" 1)
    awk -v v="$v" -v s="$s" -v q="$q" -v f="$f" -v n="$n" -v k="$k" -v n2="$n2" 'BEGIN {
      printf "| %s: first build minus no-op build (pipeline work) | %s | %.2f s | qemu-img convert + sync | %.2f s | %.2fx |\n", v, s, f - n, q, (f - n) / q
      printf "| %s: rebuild after one kernel parameter | %s | %.2f s | no-op build (before / after it) | %.2f / %.2f s | %.2fx / %.2fx |\n", v, s, k, n, n2, k / n, k / n2 }'
  done
done
for v in "${variants[@]}"; do
  for s in "${sdks[@]}"; do
    echo "| $v: peak RSS, largest process of the first build | $s | $(( $(cut -d' ' -f2 "$work/first-$v-$s.times" | sort -n | tail -1) / 1024 )) MiB | | | |"
    echo "| $v: peak RSS, largest linuximage process | $s | $(awk '{m=$1} END {print int(m/1024)}' "$work/tool-rss-$v-$s") MiB | | | |"
  done
done
if [ -f "$work/big.times" ]; then
  echo "| 1 TiB virtual: peak RSS, largest process of the build | new | $(( $(cut -d' ' -f2 "$work/big.times") / 1024 )) MiB | | | |"
  echo "| 1 TiB virtual: peak RSS, largest linuximage process | new | $(awk '{m=$1} END {print int(m/1024)}' "$work/tool-rss-1t") MiB | | | |"
fi
for f in "${filesystems[@]}"; do
  label=$f; [ "$f" = here ] && label=$fs_here
  o=$(col "ours-$f" 1); q=$(col "qemu-$f" 1)
  awk -v l="$label" -v o="$o" -v q="$q" 'BEGIN { printf "| convert on %s (linuximage convert + sync) | new | %.2f s | qemu-img convert + sync | %.2f s | %.2fx |\n", l, o, q, o / q }'
done
