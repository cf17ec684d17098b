#!/usr/bin/env bash
# The one command that runs every test: the Rust workspace, then each CI check in checks/ci/.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --locked

for check in checks/ci/*.sh; do
  [ -e "$check" ] || continue
  echo "==> $check"
  bash "$check"
done
