#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
packages=(
  postgresql nix-bin openssl dosfstools mtools gdisk e2fsprogs util-linux bmap-tools qemu-utils
  # coturn (checks/ci/modules-turn-shim.sh): a real TURN server for the credentials shim;
  # python3 runs the modules' CI scripts.
  coturn python3
  # redis-server (checks/ci/modules-valkey.sh): Valkey speaks the same protocol and cluster
  # commands.
  redis-server
)
apt-get install -y --no-install-recommends "${packages[@]}"

# deadnix (checks/ci/nix-deadnix.sh): from crates.io, skipped when already installed.
if ! command -v deadnix >/dev/null && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/deadnix" ]; then
  if command -v cargo >/dev/null; then
    cargo install --locked deadnix --version 1.3.1
  else
    # Under sudo, root often has no Rust toolchain: the tests' user installs it instead.
    echo "install-deps: no cargo for $(id -un); as the user who runs the tests, run:" \
      "cargo install --locked deadnix --version 1.3.1" >&2
  fi
fi
