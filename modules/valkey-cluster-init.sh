#!/usr/bin/env bash
# Gives each freshly started single-node Valkey cluster all 16384 hash slots (once), then waits
# until it reports cluster_state:ok. Usage: valkey-cluster-init.sh CLI PORT...
# The password comes from $CREDENTIALS_DIRECTORY/password (systemd credential) and reaches the
# CLI through the environment, never argv.
set -euo pipefail
cli="$1"
shift
VALKEYCLI_AUTH="$(< "$CREDENTIALS_DIRECTORY/password")"
REDISCLI_AUTH="$VALKEYCLI_AUTH"
export VALKEYCLI_AUTH REDISCLI_AUTH

for port in "$@"; do
  for _ in $(seq 60); do
    "$cli" -p "$port" ping >/dev/null 2>&1 && break
    sleep 1
  done
  if "$cli" -p "$port" cluster info | grep -q '^cluster_slots_assigned:0'; then
    "$cli" -p "$port" cluster addslotsrange 0 16383 >/dev/null
    echo "Valkey cluster on port $port: assigned hash slots 0-16383"
  fi
  ok=false
  for _ in $(seq 30); do
    if "$cli" -p "$port" cluster info | grep -q '^cluster_state:ok'; then
      ok=true
      break
    fi
    sleep 1
  done
  if ! $ok; then
    echo "Valkey cluster on port $port did not reach cluster_state:ok" >&2
    exit 1
  fi
done
