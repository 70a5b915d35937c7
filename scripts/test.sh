#!/usr/bin/env bash
# README command 2: installs the tools the tests use as judges (qemu-img, e2fsprogs, ...), starts
# the services they talk to, runs every test, and ends with a line "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required (dotnet not found on PATH)." >&2; exit 1; }
"$here/scripts/install-test-deps.sh" || exit 1

# The real Debian disk (debootstrap, cached per machine) that the end-to-end tests patch and boot.
"$here/scripts/make-sample-disk.sh" || exit 1
# The same root with Debian's cloud-init and chrony, for the provisioning tests (cached too).
"$here/scripts/make-cloud-init-root.sh" >/dev/null || exit 1

started_azurite=0
if [ -x "$here/scripts/azurite.sh" ]; then
  "$here/scripts/azurite.sh" start || exit 1
  started_azurite=1
fi

results="$here/artifacts/test-results"
rm -rf "$results"
dotnet test "$here/LinuxImageSdk.sln" -c Debug --nologo \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
  --results-directory "$results" "$@"
status=$?

[ $started_azurite = 1 ] && "$here/scripts/azurite.sh" stop

passed=0; failed=0; total=0
for trx in "$results"/*.trx "$results"/**/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); total=$((total + ${t:-0}))
done
if [ "$total" = 0 ]; then
  echo "no test ran"
  exit 1
fi
[ $failed = 0 ] && [ $status != 0 ] && failed=1
echo "$passed passed, $failed failed"
[ $failed = 0 ] && [ $status = 0 ]
