#!/usr/bin/env bash
# Flashing benchmark (not part of CI: it writes ~8 GiB): a 4 GiB image with 1 GiB mapped, onto a
# loop device, with `dd bs=4M conv=fsync`, `bmaptool copy` and `sweetlies-appliance flash` with and
# without its O_DIRECT read-back. Prints a table. Needs root (losetup), bmap-tools, util-linux.
#
#   sudo checks/bench-flash.sh                      # builds the CLI in release mode first
#   SWEETLIES_APPLIANCE=path/to/bin checks/bench-flash.sh
#   BENCH_DIR=/somewhere/with/9GiB checks/bench-flash.sh   # default /var/tmp/sweetlies-bench-flash
#   LOOP_DIRECT_IO=on …                             # loop device without the backing page cache
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${BENCH_DIR:-/var/tmp/sweetlies-bench-flash}"
repeat="${REPEAT:-2}"

[ "$(id -u)" = 0 ] || { echo "bench-flash: needs root for loop devices" >&2; exit 1; }
for tool in bmaptool losetup dd; do
  command -v "$tool" >/dev/null || { echo "bench-flash: $tool missing; run checks/install-deps.sh" >&2; exit 1; }
done
appliance="${SWEETLIES_APPLIANCE:-}"
if [ -z "$appliance" ]; then
  cargo build --release --quiet --manifest-path "$repo/Cargo.toml" -p sweetlies-appliance
  appliance="${CARGO_TARGET_DIR:-$repo/target}/release/sweetlies-appliance"
fi

mkdir -p "$work"
image="$work/image.raw"
backing="$work/device.raw"
device=""
cleanup() {
  [ -z "$device" ] || losetup -d "$device" || true
  rm -f "$image" "$image.bmap" "$backing"
}
trap cleanup EXIT

# 32 random 32 MiB extents, one every 128 MiB: 1 GiB of data in a 4 GiB sparse file.
rm -f "$image"
truncate -s 4G "$image"
for i in $(seq 0 31); do
  dd if=/dev/urandom of="$image" bs=1M count=32 seek=$((i * 128)) conv=notrunc status=none
done
bmaptool -q create -o "$image.bmap" "$image"

rm -f "$backing"
fallocate -l 4G "$backing"
device="$(losetup --find --show --direct-io="${LOOP_DIRECT_IO:-off}" "$backing")"

# Same conditions for every tool: the image is in the page cache, the device has nothing dirty.
prepare() {
  cat "$image" >/dev/null
  sync
  blockdev --flushbufs "$device"
}

best=()
names=()
measure() {
  local name="$1"
  shift
  local fastest=""
  for _ in $(seq "$repeat"); do
    prepare
    local start end seconds
    start=$(date +%s.%N)
    "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; echo "bench-flash: $name failed" >&2; exit 1; }
    end=$(date +%s.%N)
    seconds=$(echo "$end - $start" | bc)
    if [ -z "$fastest" ] || [ "$(echo "$seconds < $fastest" | bc)" = 1 ]; then fastest=$seconds; fi
  done
  names+=("$name")
  best+=("$fastest")
}

measure "dd bs=4M conv=fsync" dd if="$image" of="$device" bs=4M conv=fsync status=none
measure "bmaptool copy" bmaptool -q copy --bmap "$image.bmap" "$image" "$device"
measure "sweetlies flash --no-verify" "$appliance" flash "$image" "$device" --bmap "$image.bmap" --yes --no-verify
measure "sweetlies flash (O_DIRECT read-back)" "$appliance" flash "$image" "$device" --bmap "$image.bmap" --yes

# The device must now hold the image's data (holes are don't-care and were written by dd).
cmp "$image" "$device" || { echo "bench-flash: device differs from the image" >&2; exit 1; }

dd_seconds="${best[0]}"
echo
echo "4 GiB image, 1 GiB mapped, loop device (direct-io=${LOOP_DIRECT_IO:-off}), best of $repeat:"
printf '| %-38s | %8s | %12s | %8s |\n' "tool" "seconds" "mapped MiB/s" "vs dd"
printf '|%s|%s|%s|%s|\n' "----------------------------------------" "----------" "--------------" "----------"
for i in "${!names[@]}"; do
  printf '| %-38s | %8.2f | %12.0f | %7.1fx |\n' "${names[$i]}" "${best[$i]}" \
    "$(echo "1024 / ${best[$i]}" | bc -l)" "$(echo "$dd_seconds / ${best[$i]}" | bc -l)"
done
