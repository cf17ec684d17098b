#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  postgresql nix-bin dosfstools mtools gdisk e2fsprogs util-linux bmap-tools qemu-utils
