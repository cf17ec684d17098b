#!/usr/bin/env bash
# Benchmarks sweetlies-dynamo against moto's DynamoDB server on this machine: the same
# workload (GetItem, PutItem, Query, conditional UpdateItem, TransactWriteItems of 4 items) at
# 1, 16 and 64 concurrent clients, printing ops/s, p50/p99 and the throughput ratio.
#
#   crates/dynamo/bench/run.sh                      # 3 s per measurement
#   BENCH_SECONDS=5 BENCH_WORK_DIR=/tmp/b crates/dynamo/bench/run.sh
#   BENCH_WITH_MOTO=0 BENCH_POOL_SIZE=16 BENCH_CLIENTS=64 crates/dynamo/bench/run.sh   # tuning
#
# Needs: PostgreSQL server binaries (Debian package `postgresql`), python3 with venv
# (`python3-venv`); moto is installed with pip into a venv under the work dir.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=${BENCH_WORK_DIR:-${TMPDIR:-/tmp}/sweetlies-dynamo-bench}
venv=${MOTO_VENV:-$work/venv}
seconds=${BENCH_SECONDS:-3}
clients=${BENCH_CLIENTS:-1,16,64}
pool_size=${BENCH_POOL_SIZE:-32}
with_moto=${BENCH_WITH_MOTO:-1}
target_dir=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$work"

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
  echo "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: apt-get install postgresql" >&2
  exit 1
fi
if [ "$with_moto" = 1 ] && [ ! -x "$venv/bin/moto_server" ]; then
  echo "installing moto[server] into $venv" >&2
  python3 -m venv "$venv" || { echo "python3 -m venv failed: apt-get install python3-venv" >&2; exit 1; }
  "$venv/bin/pip" install -q 'moto[server]'
fi

(cd "$root" && cargo build --release -q -p sweetlies-dynamo --bin sweetlies-dynamo --example bench)

pgdir=$(mktemp -d "$work/pg.XXXXXX")
run_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres:postgres "$pgdir"
  run_pg=(runuser -u postgres --)
fi
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  # moto keeps working off queued requests after SIGTERM.
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  "${run_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap cleanup EXIT
"${run_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres >/dev/null
# Durable settings (fsync and synchronous commit stay on): PostgreSQL is the system of record.
"${run_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w \
  -o "-k $pgdir -c listen_addresses='' -c max_connections=200 -c shared_buffers=256MB" start >/dev/null

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dynamo_port=$(port)
moto_port=$(port)
key_id=AKIDBENCHMARK
secret=bench-only-insecure-secret
printf '{"accessKeys":[{"accessKeyId":"%s","secretAccessKey":"%s"}]}' "$key_id" "$secret" > "$work/credentials.json"
chmod 600 "$work/credentials.json"
RUST_LOG=warn "$target_dir/release/sweetlies-dynamo" --listen "127.0.0.1:$dynamo_port" \
  --database "host=$pgdir user=postgres dbname=postgres" --credentials-file "$work/credentials.json" \
  --pool-size "$pool_size" ${BENCH_WORKER_THREADS:+--worker-threads "$BENCH_WORKER_THREADS"} &
pids+=($!)
targets=(--target "sweetlies-dynamo=http://127.0.0.1:$dynamo_port")
if [ "$with_moto" = 1 ]; then
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
  pids+=($!)
  targets+=(--target "moto=http://127.0.0.1:$moto_port")
fi
for p in "$dynamo_port" "$moto_port"; do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break
    sleep 0.1
  done
done

AWS_ACCESS_KEY_ID=$key_id AWS_SECRET_ACCESS_KEY=$secret "$target_dir/release/examples/bench" \
  "${targets[@]}" --seconds "$seconds" --clients "$clients" --operations "${BENCH_OPERATIONS:-}"
