#!/usr/bin/env bash
# The patch series are well formed: every series entry exists, every patch is listed, and
# every patch starts with a header that says why it exists (Not-Forking: no silent patches).
# With SWEETLIES_SIGNAL_SERVER_GIT=<git dir holding the pinned commit> it also proves the
# series applies (checks/patches-apply.sh); CI has no copy of upstream, so that part runs
# on machines that have one and in `nix flake check`.
set -euo pipefail
cd "$(dirname "$0")/../.."

failed=0
count=0
for series_file in patches/*/series; do
  [ -e "$series_file" ] || continue
  dir="$(dirname "$series_file")"
  mapfile -t listed < <(grep -v -e '^#' -e '^[[:space:]]*$' "$series_file")
  for name in "${listed[@]}"; do
    file="$dir/$name"
    if [ ! -f "$file" ]; then
      echo "  FAIL  $series_file lists $name, which does not exist" >&2
      failed=1
      continue
    fi
    count=$((count + 1))
    header="$(sed -n '1,/^diff --git /p' "$file" | sed '$d')"
    if ! grep -q '^diff --git ' "$file"; then
      echo "  FAIL  $file is not a git diff" >&2
      failed=1
    elif ! grep -qi '^why:' <<<"$header"; then
      echo "  FAIL  $file has no 'Why:' paragraph before its first diff" >&2
      failed=1
    fi
  done
  for file in "$dir"/*.patch; do
    [ -e "$file" ] || continue
    if ! printf '%s\n' "${listed[@]}" | grep -qxF "$(basename "$file")"; then
      echo "  FAIL  $file is not listed in $series_file" >&2
      failed=1
    fi
  done
done
[ "$failed" -eq 0 ] || exit 1
echo "nix-patches: $count patch(es) listed, present and explained"

if [ -n "${SWEETLIES_SIGNAL_SERVER_GIT:-}" ]; then
  bash checks/patches-apply.sh "$SWEETLIES_SIGNAL_SERVER_GIT" signal-server
else
  echo "nix-patches: SWEETLIES_SIGNAL_SERVER_GIT unset; applying the series is left to checks/patches-apply.sh and nix flake check"
fi
