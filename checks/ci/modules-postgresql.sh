#!/usr/bin/env bash
# modules/postgresql-role-password.sh against a real PostgreSQL: after it ran (as the unit does,
# with the password as a credential file), the role that ensureUsers created logs in over TCP with
# scram-sha-256 with that password, and not with another; it is idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
source checks/lib/postgresql.sh
trap pg_stop EXIT
pg_start modules-postgresql
pg_create_role sweetlies_dynamo

"${run[@]}" mkdir -m 0700 "$work/credentials"
password="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')'\"; x"
printf '%s' "$password" | "${run[@]}" tee "$work/credentials/password" >/dev/null
set_password() { pg_set_role_password sweetlies_dynamo; }
login() { PGPASSWORD="$1" "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U sweetlies_dynamo -d postgres -Atc 'select current_user' 2>/dev/null; }

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
