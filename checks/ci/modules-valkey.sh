#!/usr/bin/env bash
# modules/valkey-cluster-init.sh against real Redis-protocol servers (Debian's redis-server 7,
# the same cluster commands as Valkey's) configured like modules/valkey.nix: password-protected
# single-node clusters get all hash slots once and reach cluster_state:ok; the pub/sub instance
# delivers the keyspace notifications AccountsManager subscribes to.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
for tool in redis-server redis-cli; do
  command -v "$tool" >/dev/null || {
    echo "modules-valkey: $tool is not installed: run checks/install-deps.sh (Debian package redis-server)" >&2
    exit 1
  }
done

work="$(mktemp -d /tmp/modules-valkey.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A free port whose cluster bus port (port + 10000) is free too.
free_port() {
  python3 -c '
import random, socket
while True:
    port = random.randint(20000, 45000)
    try:
        for p in (port, port + 10000):
            socket.create_server(("127.0.0.1", p)).close()
        print(port)
        break
    except OSError:
        pass'
}
mkdir -p "$work/credentials"
password="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s' "$password" >"$work/credentials/password"

start() { # name port extra-settings...
  local name="$1" port="$2"
  shift 2
  mkdir -p "$work/$name"
  {
    echo "port $port"
    echo "bind 127.0.0.1"
    echo "protected-mode yes"
    echo "dir $work/$name"
    echo "requirepass $password"
    printf '%s\n' "$@"
  } >"$work/$name/redis.conf"
  redis-server "$work/$name/redis.conf" >"$work/$name/log" 2>&1 &
  pids+=($!)
}

cache_port="$(free_port)"
messages_port="$(free_port)"
pubsub_port="$(free_port)"
for name in cache messages; do
  port_var="${name}_port"
  start "$name" "${!port_var}" "cluster-enabled yes" "cluster-config-file nodes.conf" "cluster-require-full-coverage yes"
done
start pubsub "$pubsub_port" 'notify-keyspace-events K$' 'save ""'

source checks/lib/tally.sh
export REDISCLI_AUTH="$password"

init() { CREDENTIALS_DIRECTORY="$work/credentials" bash "$repo/modules/valkey-cluster-init.sh" redis-cli "$cache_port" "$messages_port"; }
if first="$(init)"; then
  [ "$(grep -c 'assigned hash slots' <<<"$first")" -eq 2 ] && ok "both clusters got their hash slots" ||
    bad "expected two slot assignments, got: $first"
else
  bad "valkey-cluster-init.sh failed on fresh clusters"
fi
for port in "$cache_port" "$messages_port"; do
  info="$(redis-cli -p "$port" cluster info)"
  grep -q '^cluster_state:ok' <<<"$info" && grep -q '^cluster_slots_assigned:16384' <<<"$info" &&
    ok "cluster on $port is ok with 16384 slots" || bad "cluster on $port: $info"
done
if second="$(init)" && ! grep -q 'assigned' <<<"$second"; then
  ok "a second run (next boot) changes nothing"
else
  bad "the second run was not a no-op: $second"
fi
redis-cli -c -p "$cache_port" set "{account}:key" value >/dev/null &&
  [ "$(redis-cli -c -p "$cache_port" get "{account}:key")" = value ] &&
  ok "a cluster client reads and writes" || bad "cluster read/write failed"
REDISCLI_AUTH= redis-cli -p "$cache_port" get "{account}:key" 2>&1 | grep -q NOAUTH &&
  ok "without the password the cluster refuses" || bad "the cluster answered without the password"

timeout 10 redis-cli -p "$pubsub_port" psubscribe '__keyspace@0__:*' >"$work/events" 2>&1 &
subscriber=$!
sleep 0.5
redis-cli -p "$pubsub_port" set linked-device-token value >/dev/null
sleep 0.5
kill "$subscriber" 2>/dev/null || true
grep -q '__keyspace@0__:linked-device-token' "$work/events" && grep -qx 'set' "$work/events" &&
  ok "pub/sub delivers keyspace \"set\" notifications (K\$)" || bad "no keyspace notification: $(cat "$work/events")"

tally modules-valkey
