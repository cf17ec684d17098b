#!/usr/bin/env bash
# No dead code (unused bindings or lambda arguments) in any .nix file.
set -euo pipefail
cd "$(dirname "$0")/../.."

deadnix_bin="$(command -v deadnix || true)"
[ -n "$deadnix_bin" ] || [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/deadnix" ] || deadnix_bin="${CARGO_HOME:-$HOME/.cargo}/bin/deadnix"
[ -n "$deadnix_bin" ] || {
  echo "nix-deadnix: deadnix is not installed; run checks/install-deps.sh (cargo install --locked deadnix)" >&2
  exit 1
}

mapfile -d '' files < <(find . \( -path ./target -o -path ./.git -o -path './result*' \) -prune -o -name '*.nix' -type f -print0 | sort -z)
"$deadnix_bin" --fail "${files[@]}"
echo "nix-deadnix: ${#files[@]} files without dead code"
