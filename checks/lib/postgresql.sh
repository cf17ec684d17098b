# Sourced by the CI scripts that need a throwaway PostgreSQL set up the way the modules set it up
# (Debian's server binaries). After `pg_start <name>`:
#   work     a fresh directory (postgres-owned when running as root; also the socket directory)
#   run      the prefix that runs a command as the postgres user (empty unless root)
#   pg_bin   the newest /usr/lib/postgresql/*/bin
#   pg_port  the loopback TCP port; local socket connections are trusted, TCP needs scram-sha-256
# pg_stop stops the server and removes $work (call it from the script's EXIT trap).

# A free TCP port on loopback.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_role_password_script="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/modules/postgresql-role-password.sh"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$pg_bin/initdb" ] || {
  echo "$(basename "$0" .sh): PostgreSQL server binaries missing: apt-get install postgresql" >&2
  exit 1
}

pg_start() { # pg_start <name of the work directory>
  work="$(mktemp -d "/tmp/$1.XXXXXX")"
  run=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$work"
    run=(runuser -u postgres --)
  fi
  pg_port="$(free_port)"
  "${run[@]}" "$pg_bin/initdb" -D "$work/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --no-sync >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; return 1; }
  "${run[@]}" "$pg_bin/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w \
    -o "-k $work -c listen_addresses=127.0.0.1 -p $pg_port -c fsync=off" start >/dev/null
}

pg_stop() {
  [ -n "${work:-}" ] || return 0
  "${run[@]}" "$pg_bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}

# psql as the superuser over the trusted local socket.
pg_psql() {
  "${run[@]}" "$pg_bin/psql" -h "$work" -p "$pg_port" -U postgres "$@"
}

# What services.postgresql.ensureUsers does: the role exists, without a password.
pg_create_role() { # pg_create_role <role>
  pg_psql -qc "CREATE ROLE $1 LOGIN"
}

# modules/postgresql-role-password.sh as sweetlies-dynamo-db-password.service runs it, with the
# password in $work/credentials/password.
pg_set_role_password() { # pg_set_role_password <role>
  "${run[@]}" env CREDENTIALS_DIRECTORY="$work/credentials" bash "$pg_role_password_script" \
    "$pg_bin/psql" "$1" -h "$work" -p "$pg_port" -U postgres --dbname=postgres >/dev/null
}
