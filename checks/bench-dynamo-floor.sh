#!/usr/bin/env bash
# The PostgreSQL floor of the sweetlies-dynamo benchmark: the fewest SQL statements each benchmark
# operation needs when PostgreSQL is the system of record, run by pgbench (PostgreSQL's own C
# client, one connection per client, no HTTP, no JSON, no signing) on a PostgreSQL server. No
# DynamoDB server that gives each request its own PostgreSQL transaction can beat these numbers
# on the same machine, so they say which latency targets the machine allows at all.
# checks/bench-dynamo.sh runs it after the main benchmark on the same throwaway PostgreSQL; it
# must run on the PostgreSQL machine (it reads the server's CPU time from /proc).
#
#   checks/bench-dynamo-floor.sh --host PG_SOCKET_DIR [--user postgres] [--clients 1,16,64]
#                                [--seconds 5] [--operations GetItem,PutItem,...]
#
# Client counts go up to 1024 (one account row per client for UpdateItem).
#
# What each operation needs at least (items are rows keyed by (pk, sk), shaped like the
# benchmark's: 512-byte accounts, 20-message queues of 256-byte envelopes):
#   GetItem             one SELECT by primary key
#   PutItem             one INSERT … ON CONFLICT DO UPDATE of a new message, committed durably
#   Query               one SELECT of a 20-row partition in sort-key order
#   UpdateItem          BEGIN; SELECT … FOR UPDATE | UPDATE; COMMIT: two pipelined round trips,
#                       as the condition and the update expression are evaluated between them
#   TransactWriteItems  BEGIN; SELECT 4 keys FOR UPDATE | INSERT 4 rows; COMMIT: the same for
#                       4 items at once (the benchmark's attribute_not_exists puts)
set -euo pipefail
. "$(dirname "$0")/lib/cpu.sh"

host= user=postgres clients=1,16,64 seconds=5 operations=GetItem,PutItem,Query,UpdateItem,TransactWriteItems
while [ $# -gt 0 ]; do
  case "$1" in
    --host | --user | --clients | --seconds | --operations)
      [ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
      declare "${1#--}=$2"
      shift 2
      ;;
    *) echo "unknown argument '$1'; see the header of $0" >&2; exit 2 ;;
  esac
done
[ -n "$host" ] || { echo "--host PG_SOCKET_DIR is required" >&2; exit 2; }
for count in ${clients//,/ }; do
  [[ "$count" =~ ^[0-9]+$ ]] && [ "$count" -ge 1 ] && [ "$count" -le 1024 ] ||
    { echo "--clients takes counts from 1 to 1024, not '$count'" >&2; exit 2; }
done
# pgbench runs for whole seconds.
whole_seconds=$(awk -v s="$seconds" 'BEGIN { w = int(s); if (w < s) w++; if (w < 1) w = 1; print w }')
pgbench=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -1)
[ -x "$pgbench" ] || { echo "pgbench not found: apt-get install postgresql" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sweetlies-floor.XXXXXX")
trap 'rm -rf "$work"' EXIT
# PostgreSQL's CPU per operation is measured on the server's processes (pgbench's own is left out).
data_directory=$(psql -h "$host" -U "$user" -d postgres -qAt -c 'SHOW data_directory') || {
  echo "cannot connect to PostgreSQL on socket directory $host as $user (see psql's error above)" >&2
  exit 1
}
postmaster=$(head -n 1 "$data_directory/postmaster.pid" 2>/dev/null) || true
[ -r "/proc/${postmaster:-none}/stat" ] || {
  echo "cannot read the PostgreSQL server's processes: run this on the machine PostgreSQL runs on, as root or its user" >&2
  exit 1
}
psql_floor() { psql -h "$host" -U "$user" -d sweetlies_floor -v ON_ERROR_STOP=1 -qAt "$@"; }

psql -h "$host" -U "$user" -d postgres -v ON_ERROR_STOP=1 -qAt -c 'SET client_min_messages = warning' \
  -c 'DROP DATABASE IF EXISTS sweetlies_floor' -c 'CREATE DATABASE sweetlies_floor'
psql_floor <<'SQL'
CREATE TABLE items (pk bytea, sk bytea, item bytea NOT NULL, PRIMARY KEY (pk, sk));
-- GetItem: 256 accounts; UpdateItem: one account per client.
INSERT INTO items SELECT int8send(i), ''::bytea, decode(repeat(md5(i::text), 32), 'hex') FROM generate_series(1, 256) AS i;
INSERT INTO items SELECT int8send(1000 + i), ''::bytea, decode(repeat(md5(i::text), 32), 'hex') FROM generate_series(0, 1023) AS i;
-- Query: 64 queues of 20 messages.
INSERT INTO items
  SELECT int8send(1000000 + q), int8send(m), decode(repeat(md5((q * 100 + m)::text), 16), 'hex')
  FROM generate_series(1, 64) AS q, generate_series(1, 20) AS m;
VACUUM ANALYZE items;
SQL

write_script() { # operation -> pgbench script on stdout
  case "$1" in
    GetItem) cat <<'EOF' ;;
\set account random(1, 256)
SELECT item FROM items WHERE pk = int8send(:account) AND sk = ''::bytea;
EOF
    PutItem) cat <<'EOF' ;;
\set seq :seq + 1
INSERT INTO items VALUES (int8send(2000000 + :client_id), int8send(:seq::bigint), decode(repeat('ab', 256), 'hex'))
  ON CONFLICT (pk, sk) DO UPDATE SET item = EXCLUDED.item;
EOF
    Query) cat <<'EOF' ;;
\set queue random(1, 64)
SELECT item FROM items WHERE pk = int8send(1000000 + :queue) ORDER BY sk;
EOF
    # Two round trips, pipelined as sweetlies-dynamo does: the write depends on what was read.
    UpdateItem) cat <<'EOF' ;;
\startpipeline
BEGIN;
SELECT item FROM items WHERE pk = int8send(1000 + :client_id) AND sk = ''::bytea FOR UPDATE;
\endpipeline
\startpipeline
UPDATE items SET item = decode(repeat('cd', 512), 'hex') WHERE pk = int8send(1000 + :client_id) AND sk = ''::bytea;
COMMIT;
\endpipeline
EOF
    TransactWriteItems) cat <<'EOF' ;;
\set seq :seq + 4
\startpipeline
BEGIN;
SELECT sk FROM items WHERE pk = int8send(3000000 + :client_id)
  AND sk = ANY (ARRAY[int8send(:seq::bigint), int8send(:seq::bigint + 1), int8send(:seq::bigint + 2), int8send(:seq::bigint + 3)])
  FOR UPDATE;
\endpipeline
\startpipeline
INSERT INTO items SELECT int8send(3000000 + :client_id), int8send(id), decode(repeat('ef', 32), 'hex')
  FROM unnest(ARRAY[:seq::bigint, :seq::bigint + 1, :seq::bigint + 2, :seq::bigint + 3]) AS id
  ON CONFLICT (pk, sk) DO UPDATE SET item = EXCLUDED.item;
COMMIT;
\endpipeline
EOF
    *) echo "unknown operation '$1' (GetItem, PutItem, Query, UpdateItem, TransactWriteItems)" >&2; return 2 ;;
  esac
}

# Also at 8 and 32 connections: the closed-loop bound needs the best rate PostgreSQL reaches.
client_counts=$(echo "$clients,8,32" | tr , '\n' | sort -n -u | tr '\n' ' ')
echo "PostgreSQL floor: the fewest statements per operation, one transaction per request, run by pgbench" \
  "($("$pgbench" --version | awk '{print $3}')), ${whole_seconds} s per cell. The last column is the lowest mean latency" \
  "that many closed-loop clients can see: clients / the best ops/s of that operation (Little's law)."
echo "| operation | clients | pgbench ops/s | pgbench p50 ms | pgbench p99 ms | PostgreSQL CPU µs/op | mean ms at best ops/s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
IFS=, read -r -a operation_list <<<"$operations"
for operation in "${operation_list[@]}"; do
  write_script "$operation" >"$work/$operation.sql"
  # Warm-up, not measured: the first run into fresh index pages is slower than the rest.
  "$pgbench" -h "$host" -U "$user" -n -M prepared -c 8 -j 2 -T 1 -D seq=0 -f "$work/$operation.sql" sweetlies_floor >/dev/null 2>&1 || true
  rows=()
  for count in $client_counts; do
    cell=$((${cell:-0} + 1))
    rm -f "$work"/log.*
    threads=$((count < 2 ? count : 2))
    cpu_before=$(postgres_cpu_seconds "$postmaster")
    output=$("$pgbench" -h "$host" -U "$user" -n -M prepared -c "$count" -j "$threads" -T "$whole_seconds" -D seq=$((cell << 40)) \
      -f "$work/$operation.sql" --log --log-prefix="$work/log" sweetlies_floor 2>&1) || {
      echo "pgbench failed for $operation at $count clients:" >&2
      echo "$output" | tail -n 20 >&2
      exit 1
    }
    cpu_used=$(awk -v a="$cpu_before" -v b="$(postgres_cpu_seconds "$postmaster")" 'BEGIN { print b - a }')
    tps=$(echo "$output" | awk '/^tps =/ { printf "%.0f", $3 }')
    transactions=$(echo "$output" | awk '/^number of transactions actually processed:/ { print $6 }')
    cpu_per_op=$(awk -v s="$cpu_used" -v n="$transactions" 'BEGIN { printf "%.0f", (n > 0 ? s * 1e6 / n : 0) }')
    # Per-transaction log lines: client, transaction number, latency in µs, ... (nearest rank).
    percentiles=$(cat "$work"/log.* | awk '{ print $3 }' | sort -n | awk '
      { latency[NR] = $1 }
      END {
        if (NR == 0) { print "- -"; exit }
        p50 = int(NR * 0.50 + 0.999999); p99 = int(NR * 0.99 + 0.999999)
        printf "%.2f %.2f", latency[p50] / 1000, latency[p99] / 1000
      }')
    rows+=("$count $tps $percentiles $cpu_per_op")
  done
  best=$(printf '%s\n' "${rows[@]}" | awk '$2 > best { best = $2 } END { print best }')
  for row in "${rows[@]}"; do
    read -r count tps p50 p99 cpu_per_op <<<"$row"
    echo "| $operation | $count | $tps | $p50 | $p99 | $cpu_per_op | $(awk -v c="$count" -v b="$best" 'BEGIN { printf "%.2f", c * 1000 / b }') |"
  done
done
psql -h "$host" -U "$user" -d postgres -qAt -c 'DROP DATABASE sweetlies_floor'
