#!/usr/bin/env bash
# Proves that a patch series applies to the upstream source it is pinned to, both with
# `git apply` (what we review) and with GNU patch (what the Nix build's patchPhase runs),
# and that both give the same tree.
#
#   checks/patches-apply.sh <upstream-git-dir> [series]   # e.g. a bare mirror of Signal-Server;
#                                                         # the pinned rev is archived from it
#   checks/patches-apply.sh --tree <source-dir> [series]  # an already-pinned source tree
#                                                         # (the flake input, in `nix flake check`)
#
# series defaults to signal-server (patches/signal-server/series); its pinned commit comes
# from modules/lib/flake-pins.nix.
set -euo pipefail
# Pure evaluation needs no Nix store; without this a non-root user would need the daemon.
export NIX_REMOTE=dummy://

repo_root="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

mode=git
if [ "${1:-}" = "--tree" ]; then
  mode=tree
  shift
fi
[ $# -ge 1 ] && [ $# -le 2 ] || usage
source_arg="$1"
series="${2:-signal-server}"

case "$series" in
  signal-server) pin_attr=signalServer ;;
  *)
    echo "patches-apply: unknown series '$series' (known: signal-server)" >&2
    exit 2
    ;;
esac

series_dir="$repo_root/patches/$series"
series_file="$series_dir/series"
[ -f "$series_file" ] || {
  echo "patches-apply: $series_file is missing" >&2
  exit 1
}
mapfile -t patches < <(grep -v -e '^#' -e '^[[:space:]]*$' "$series_file")

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/git-apply" "$work/gnu-patch"

if [ "$mode" = git ]; then
  command -v nix-instantiate >/dev/null || {
    echo "patches-apply: nix-instantiate is needed to read the pinned commit (apt-get install nix-bin)" >&2
    exit 1
  }
  rev="$(nix-instantiate --eval --strict --json -E "(import $repo_root/modules/lib/flake-pins.nix).$pin_attr.rev" | tr -d '"')"
  if ! git_error="$(git -C "$source_arg" rev-parse --git-dir 2>&1 >/dev/null)"; then
    echo "patches-apply: cannot read $source_arg as a git repository: $git_error" >&2
    exit 1
  fi
  git -C "$source_arg" cat-file -e "$rev^{commit}" 2>/dev/null || {
    echo "patches-apply: $source_arg does not contain the pinned commit $rev of $series; fetch it (git -C $source_arg fetch origin $rev) or pass the right repository" >&2
    exit 1
  }
  git -C "$source_arg" archive "$rev" | tar -x -C "$work/git-apply"
  echo "patches-apply: $series at $rev (from $source_arg)"
else
  [ -d "$source_arg" ] || {
    echo "patches-apply: $source_arg is not a directory" >&2
    exit 1
  }
  cp -R "$source_arg/." "$work/git-apply/"
  chmod -R u+w "$work/git-apply"
  echo "patches-apply: $series on the tree $source_arg"
fi
cp -R "$work/git-apply/." "$work/gnu-patch/"

failed=0
for name in "${patches[@]}"; do
  patch_file="$series_dir/$name"
  if [ ! -f "$patch_file" ]; then
    echo "  FAIL  $name: listed in $series_file but missing" >&2
    failed=1
    continue
  fi
  if ! (cd "$work/git-apply" && git apply --check "$patch_file" && git apply "$patch_file"); then
    echo "  FAIL  $name: git apply --check" >&2
    failed=1
    continue
  fi
  if ! (cd "$work/gnu-patch" && patch -p1 --batch --forward --quiet <"$patch_file"); then
    echo "  FAIL  $name: GNU patch -p1 (the Nix patchPhase)" >&2
    failed=1
    continue
  fi
  echo "  ok    $name"
done

for file in "$series_dir"/*.patch; do
  [ -e "$file" ] || continue
  if ! printf '%s\n' "${patches[@]}" | grep -qxF "$(basename "$file")"; then
    echo "  FAIL  $(basename "$file") is not listed in $series_file" >&2
    failed=1
  fi
done

if [ "$failed" -eq 0 ] && ! diff -r "$work/git-apply" "$work/gnu-patch" >/dev/null; then
  echo "  FAIL  git apply and GNU patch produced different trees" >&2
  failed=1
fi

if [ "$failed" -ne 0 ]; then
  echo "patches-apply: $series does not apply cleanly; rebase the failing patch on the pinned source (docs/building.md)" >&2
  exit 1
fi
echo "patches-apply: ${#patches[@]} patch(es) of $series apply"
