#!/usr/bin/env bash
# modules/postgresql-role-password.sh against a real PostgreSQL: after it ran (as the unit does,
# with the password as a credential file), the role that ensureUsers created logs in over TCP with
# scram-sha-256 with that password, and not with another; it is idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$pg_bin/initdb" ] || {
  echo "modules-postgresql: PostgreSQL server binaries missing: apt-get install postgresql" >&2
  exit 1
}

work="$(mktemp -d /tmp/modules-postgresql.XXXXXX)"
chmod 0755 "$work"
run=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres:postgres "$work"
  run=(runuser -u postgres --)
fi
cleanup() {
  "${run[@]}" "$pg_bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"${run[@]}" "$pg_bin/initdb" -D "$work/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
  --no-sync >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; exit 1; }
"${run[@]}" "$pg_bin/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w \
  -o "-k $work -c listen_addresses=127.0.0.1 -p $port -c fsync=off" start >/dev/null
# What services.postgresql.ensureUsers does: the role exists, without a password.
"${run[@]}" "$pg_bin/psql" -h "$work" -p "$port" -U postgres -qc 'CREATE ROLE sweetlies_dynamo LOGIN'

"${run[@]}" mkdir -m 0700 "$work/credentials"
password="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')'\"; x"
printf '%s' "$password" | "${run[@]}" tee "$work/credentials/password" >/dev/null
set_password() {
  "${run[@]}" env CREDENTIALS_DIRECTORY="$work/credentials" bash "$repo/modules/postgresql-role-password.sh" \
    "$pg_bin/psql" sweetlies_dynamo -h "$work" -p "$port" -U postgres --dbname=postgres >/dev/null
}
login() { PGPASSWORD="$1" "$pg_bin/psql" -h 127.0.0.1 -p "$port" -U sweetlies_dynamo -d postgres -Atc 'select current_user' 2>/dev/null; }

source checks/lib/tally.sh
[ -z "$(login "$password" || true)" ] && ok "before: the role has no password" || bad "the role logged in before"
set_password && ok "the script sets the password" || bad "the script failed"
[ "$(login "$password")" = sweetlies_dynamo ] && ok "the role logs in over TCP (scram-sha-256) with the credential" ||
  bad "login with the credential failed"
[ -z "$(login "wrong" || true)" ] && ok "a wrong password is refused" || bad "a wrong password was accepted"
set_password && [ "$(login "$password")" = sweetlies_dynamo ] && ok "running it again (every boot) is harmless" ||
  bad "the second run failed"
if grep -qF "$password" "$work/postgres.log"; then bad "the password is in the server log"; else ok "the password is not in the server log"; fi

"${run[@]}" truncate -s 0 "$work/credentials/password"
if set_password 2>/dev/null; then bad "an empty credential was accepted"; else ok "an empty credential is refused"; fi

tally modules-postgresql
