#!/usr/bin/env bash
# Every .nix file of the repository parses (Nix 2.8's nix-instantiate, no nixpkgs needed).
set -euo pipefail
# Pure evaluation needs no Nix store; without this a non-root user would need the daemon.
export NIX_REMOTE=dummy://
cd "$(dirname "$0")/../.."

mapfile -d '' files < <(find . \( -path ./target -o -path ./.git -o -path './result*' \) -prune -o -name '*.nix' -type f -print0 | sort -z)
[ "${#files[@]}" -gt 0 ] || {
  echo "nix-parse: no .nix files found" >&2
  exit 1
}

failed=0
for file in "${files[@]}"; do
  if ! nix-instantiate --parse "$file" >/dev/null; then
    echo "  FAIL  $file does not parse" >&2
    failed=1
  fi
done
[ "$failed" -eq 0 ] || exit 1
echo "nix-parse: ${#files[@]} files parse"
