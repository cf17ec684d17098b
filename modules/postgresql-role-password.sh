#!/usr/bin/env bash
# Sets the password of a PostgreSQL role from $CREDENTIALS_DIRECTORY/password (a systemd
# credential): psql reads the file itself (\set with backticks), so the password never appears in
# argv (keep log_statement off: the server would log the statement). Usage:
# postgresql-role-password.sh PSQL ROLE [PSQL CONNECTION ARGS...]
set -euo pipefail
psql="$1"
role="$2"
shift 2
[ -s "$CREDENTIALS_DIRECTORY/password" ] || {
  echo "postgresql-role-password: credential 'password' is missing or empty" >&2
  exit 1
}
"$psql" --no-psqlrc -v ON_ERROR_STOP=1 -v role="$role" "$@" <<'SQL'
\set password `cat "$CREDENTIALS_DIRECTORY/password"`
ALTER ROLE :"role" WITH LOGIN PASSWORD :'password';
SQL
