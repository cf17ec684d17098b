#!/usr/bin/env bash
# Benchmarks sweetlies-dynamo against moto's server on this machine: the same Signal-like workload
# (GetItem, PutItem, Query, conditional UpdateItem, TransactWriteItems of 4 items) at 1, 16 and 64
# concurrent clients, printed as one table with the throughput ratio. Not a test: CI does not run it.
#
#   checks/bench-dynamo.sh [extra sweetlies-dynamo-bench flags, e.g. --seconds 2 --clients 1,64]
#
# Environment:
#   BENCH_PG_FSYNC=on|off   PostgreSQL durability (default on, as on the appliance; off = like
#                           moto, which keeps everything in memory)
#   BENCH_CACHE_DIR         where the moto virtualenv lives (default ~/.cache/sweetlies)
#   BENCH_MOTO_VERSION      moto version to install when the venv is missing (default: newest)
#   BENCH_DYNAMO_ARGS       extra sweetlies-dynamo flags, e.g. "--pool-size 64"
#   BENCH_FLOOR=off         skip the PostgreSQL floor (checks/bench-dynamo-floor.sh: pgbench running
#                           the fewest statements each operation needs, on the same PostgreSQL)
#   CARGO_TARGET_DIR        as usual
# Everything it starts (PostgreSQL, sweetlies-dynamo, moto_server) is stopped on exit, even on
# failure or Ctrl-C; all of it listens on 127.0.0.1 or a Unix socket only.
set -euo pipefail
cd "$(dirname "$0")/.."
. checks/lib/cpu.sh
. checks/lib/postgresql.sh # pg_bin, free_port

pg_fsync=${BENCH_PG_FSYNC:-on}
case "$pg_fsync" in on | off) ;; *) echo "BENCH_PG_FSYNC must be on or off, not '$pg_fsync'" >&2; exit 2 ;; esac
floor=${BENCH_FLOOR:-on}
case "$floor" in on | off) ;; *) echo "BENCH_FLOOR must be on or off, not '$floor'" >&2; exit 2 ;; esac
# The floor runs the same operations, client counts and duration as the benchmark.
floor_args=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --seconds | --clients | --operations) floor_args+=("${args[i]}" "${args[i + 1]:-}") ;;
    --seconds=* | --clients=* | --operations=*) floor_args+=("${args[i]%%=*}" "${args[i]#*=}") ;;
  esac
done
cache_dir=${BENCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sweetlies}
venv="$cache_dir/moto-venv"

# --- moto[server] in a cached virtualenv -------------------------------------------------------
if [ ! -x "$venv/bin/moto_server" ]; then
  echo "==> installing moto[server] into $venv" >&2
  mkdir -p "$cache_dir"
  python3 -m venv "$venv" || {
    echo "python3 -m venv failed: install Debian's python3-venv (apt-get install python3-venv) and retry" >&2
    exit 1
  }
  "$venv/bin/pip" install --quiet "moto[server]${BENCH_MOTO_VERSION:+==$BENCH_MOTO_VERSION}"
fi
moto_version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))')

# --- build -------------------------------------------------------------------------------------
echo "==> building sweetlies-dynamo and sweetlies-dynamo-bench (release)" >&2
cargo build --release --quiet -p sweetlies-dynamo -p sweetlies-dynamo-bench
target_dir=${CARGO_TARGET_DIR:-target}
dynamo_bin="$target_dir/release/sweetlies-dynamo"
bench_bin="$target_dir/release/sweetlies-dynamo-bench"

# --- throwaway state and cleanup ---------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/sweetlies-bench.XXXXXX")
chmod 0755 "$work"
as_pg=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || { echo "running as root needs the postgres user (apt-get install postgresql)" >&2; exit 1; }
  as_pg=(runuser -u postgres --)
fi
pids=()
pg_started=
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$pg_started" ]; then "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1 || true; fi
  if [ "$status" != 0 ]; then
    for log in "$work"/*.log "$work"/pg/*.log; do
      [ -s "$log" ] && { echo "--- last lines of $log" >&2; tail -n 20 "$log" >&2; }
    done
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { # name port pid
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
    kill -0 "$3" 2>/dev/null || { echo "$1 exited before listening on port $2" >&2; return 1; }
    sleep 0.1
  done
  echo "$1 did not listen on port $2 within 30 s" >&2
  return 1
}

# --- PostgreSQL (Unix socket only) -------------------------------------------------------------
mkdir -p "$work/pg"
[ ${#as_pg[@]} = 0 ] || chown postgres:postgres "$work/pg"
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg/data" -A trust -U postgres >"$work/pg/initdb.log" 2>&1
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/postgres.log" -w \
  -o "-k $work/pg -c listen_addresses='' -c max_connections=200 -c fsync=$pg_fsync -c synchronous_commit=$pg_fsync -c shared_buffers=256MB" \
  start >/dev/null
pg_started=1

# --- sweetlies-dynamo --------------------------------------------------------------------------
credentials="$work/credentials.json"
(
  umask 077
  secret=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  printf '{"accessKeys":[{"accessKeyId":"AKIDSWEETLIESBENCH","secretAccessKey":"%s"}]}\n' "$secret" >"$credentials.tmp"
  mv "$credentials.tmp" "$credentials"
)
dynamo_port=$(free_port)
RUST_LOG=warn "$dynamo_bin" --listen "127.0.0.1:$dynamo_port" --database "host=$work/pg user=postgres dbname=postgres" \
  --credentials-file "$credentials" ${BENCH_DYNAMO_ARGS:-} >"$work/sweetlies-dynamo.log" 2>&1 &
pids+=($!)
wait_port sweetlies-dynamo "$dynamo_port" "${pids[-1]}"

# --- moto --------------------------------------------------------------------------------------
moto_port=$(free_port)
"$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_port moto_server "$moto_port" "${pids[-1]}"

# --- the benchmark -----------------------------------------------------------------------------
# Other work on the machine shares the cores with client and servers: say how busy it was.
echo "==> $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before;" \
  "sweetlies = sweetlies-dynamo $(git rev-parse --short HEAD) on PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}')" \
  "(fsync=$pg_fsync), moto = moto_server $moto_version"
# In the background with `wait`, so a TERM to this script runs the cleanup at once.
"$bench_bin" \
  --target "sweetlies=http://127.0.0.1:$dynamo_port" \
  --target "moto=http://127.0.0.1:$moto_port" \
  --baseline moto \
  --credentials-file "$credentials" \
  "$@" &
pids+=($!)
wait "${pids[-1]}"
echo "==> load average $(cut -d' ' -f1-3 /proc/loadavg) after"
postmaster=$(head -n 1 "$work/pg/data/postmaster.pid")
echo "==> CPU seconds used over the whole run: sweetlies-dynamo $(cpu_seconds "${pids[0]}")," \
  "PostgreSQL $(postgres_cpu_seconds "$postmaster"), moto_server $(cpu_seconds "${pids[1]}")"
if [ "$floor" = on ]; then
  # The servers idle meanwhile, so pgbench has the machine to itself and PostgreSQL.
  echo "==> the PostgreSQL floor on the same PostgreSQL"
  checks/bench-dynamo-floor.sh --host "$work/pg" --user postgres "${floor_args[@]}"
fi
