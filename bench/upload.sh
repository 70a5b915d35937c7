#!/usr/bin/env bash
# Uploads a multi-GiB sparse fixed VHD with ~25% data to Azurite twice in the same run: with our
# publisher (only non-zero pages) and with a naive full upload of every page. Prints bytes sent,
# times and the ratios. Usage: bench/upload.sh [GiB-virtual] [percent-data] [parallelism]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
virtual_gib=${1:-4}
percent=${2:-25}
parallelism=${3:-8}
port=${AZURITE_BLOB_PORT:-10000}
work=$(mktemp -d /var/tmp/limg-upload-bench.XXXXXX)
started=0
cleanup() {
  [ $started = 1 ] && "$here/scripts/azurite.sh" stop >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! "$here/scripts/azurite.sh" status; then
  "$here/scripts/azurite.sh" start
  started=1
fi
dotnet build "$here/bench/UploadBench" -c Release -o "$work/bench" -nologo -v:q >/dev/null

image="$work/image.vhd"
qemu-img create -q -f vpc -o subformat=fixed,force_size=on "$image" "${virtual_gib}G"
# Data in 1 MiB runs spread evenly over the disk, holes between them; half of each run's last
# 64 KiB is zero, as file systems leave zero blocks inside allocated regions.
mib=$((virtual_gib * 1024))
runs=$((mib * percent / 100))
stride=$((mib / runs))
for i in $(seq 0 $((runs - 1))); do
  head -c $((1024 * 1024 - 32768)) /dev/urandom
  head -c 32768 /dev/zero
done > "$work/data"
python3 - "$image" "$work/data" "$runs" "$stride" <<'PY'
import sys
image, data, runs, stride = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
MiB = 1 << 20
with open(image, "r+b") as out, open(data, "rb") as src:
    for i in range(runs):
        out.seek(i * stride * MiB)
        out.write(src.read(MiB))
PY
rm "$work/data"
size=$(stat -c %s "$image")
echo "image: $(awk "BEGIN{printf \"%.2f\", $size/1073741824}") GiB, $runs MiB of data in 1 MiB runs ($(du -h "$image" | cut -f1) allocated), parallelism $parallelism"

conn="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$port/devstoreaccount1;"
container="bench$(date +%s)"
sync
# Ours first, then naive: the page cache then favours naive, which reads the whole file.
ours=$(dotnet "$work/bench/UploadBench.dll" ours "$image" "$conn" "$container/ours.vhd" "$parallelism" 2>"$work/ours.log") || { cat "$work/ours.log" >&2; exit 1; }
naive=$(dotnet "$work/bench/UploadBench.dll" naive "$image" "$conn" "$container/naive.vhd" "$parallelism" 2>"$work/naive.log") || { cat "$work/naive.log" >&2; exit 1; }
echo "ours:  $ours"
echo "       $(cat "$work/ours.log")"
echo "naive: $naive"
ob=$(sed -n 's/.*bytes_sent=\([0-9]*\).*/\1/p' <<<"$ours"); os=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$ours")
nb=$(sed -n 's/.*bytes_sent=\([0-9]*\).*/\1/p' <<<"$naive"); ns=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$naive")
awk -v ob="$ob" -v os="$os" -v nb="$nb" -v ns="$ns" 'BEGIN {
  printf "bytes sent: ours %.2f GiB, naive %.2f GiB, ratio ours/naive %.3f\n", ob/1073741824, nb/1073741824, ob/nb
  printf "time:       ours %.1f s, naive %.1f s, ratio ours/naive %.3f (naive/ours %.2fx)\n", os, ns, os/ns, ns/os
}'
