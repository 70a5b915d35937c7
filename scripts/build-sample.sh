#!/usr/bin/env bash
# README command 1: packs the SDK from this checkout, builds the sample disk (a real Debian root
# file system, see make-sample-disk.sh) if it is not there yet, and runs
# `dotnet build samples/MyImage.imgproj` against the packed SDK.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required (dotnet not found on PATH)." >&2; exit 1; }

[ -f "$here/samples/disks/debian-minimal.vhd" ] || "$here/scripts/make-sample-disk.sh"

dotnet pack "$here/src/Azure.LinuxImage.Sdk" -c Release -nologo -v:q
# NuGet never refreshes a cached version: the sample restores into its own packages folder.
rm -rf "$here/artifacts/sample-packages"
dotnet build "$here/samples/MyImage.imgproj" -nologo "$@"

image="$here/samples/bin/Debug/MyImage.vhd"
echo
qemu-img info -f vpc "$image" | sed -n '1,4p'
echo "validation report: $here/samples/bin/Debug/MyImage.validation.json"
