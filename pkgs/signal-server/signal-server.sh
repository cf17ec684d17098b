#!/usr/bin/env bash
# Launcher for the Signal-Server jar: runs any of its Dropwizard commands (`server`, `check`,
# the workers such as `message-persister-service` or `remove-expired-accounts`) with the
# secrets bundle the server reads from -Dsecrets.bundle.filename.
#
# The Nix wrapper sets SIGNAL_SERVER_JAVA and SIGNAL_SERVER_JAR and puts the FoundationDB
# client library (libfdb_c.so, from nixpkgs) on LD_LIBRARY_PATH.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: signal-server --secrets-bundle FILE COMMAND [COMMAND OPTIONS] CONFIG.yml

  --secrets-bundle FILE  Signal-Server secrets bundle (flat YAML map); may instead be given
                         in the environment as SIGNAL_SERVER_SECRETS_BUNDLE.
  COMMAND                server | check | any worker command of the server
                         (signal-server --secrets-bundle FILE --help lists them).

Extra JVM options can be passed in JAVA_OPTS (split on whitespace).
Examples:
  signal-server --secrets-bundle /run/credentials/signal-server.service/secrets-bundle.yml server /etc/signal-server/config.yml
  signal-server --secrets-bundle bundle.yml check config.yml
USAGE
}

fail() {
  echo "signal-server: $1" >&2
  echo "Run 'signal-server --usage' for help." >&2
  exit 2
}

secrets_bundle="${SIGNAL_SERVER_SECRETS_BUNDLE:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --secrets-bundle)
      [ $# -ge 2 ] || fail "--secrets-bundle needs a file argument"
      secrets_bundle="$2"
      shift 2
      ;;
    --secrets-bundle=*)
      secrets_bundle="${1#--secrets-bundle=}"
      shift
      ;;
    --usage)
      usage
      exit 0
      ;;
    *)
      break
      ;;
  esac
done

[ -n "${SIGNAL_SERVER_JAVA:-}" ] || fail "SIGNAL_SERVER_JAVA is not set (run the packaged bin/signal-server, not libexec/)"
[ -n "${SIGNAL_SERVER_JAR:-}" ] || fail "SIGNAL_SERVER_JAR is not set (run the packaged bin/signal-server, not libexec/)"
[ -r "$SIGNAL_SERVER_JAR" ] || fail "server jar '$SIGNAL_SERVER_JAR' is not readable"
[ -n "$secrets_bundle" ] || fail "no secrets bundle: pass --secrets-bundle FILE or set SIGNAL_SERVER_SECRETS_BUNDLE"
[ -f "$secrets_bundle" ] && [ -r "$secrets_bundle" ] ||
  fail "secrets bundle '$secrets_bundle' is not a readable file (decrypt it with 'sweetlies-appliance secrets decrypt')"
[ $# -gt 0 ] || fail "no command given (server, check or a worker command)"

# JVM flags of upstream's container image, minus the heap dump to /tmp: a heap dump holds the
# secrets bundle in clear text.
jvm_flags=(
  -server
  -Djava.awt.headless=true
  -Djdk.nio.maxCachedBufferSize=262144
  -Dlog4j2.formatMsgNoLookups=true
  -Djdk.tls.server.newSessionTicketCount=0
  -XX:MaxRAMPercentage=75
  -XX:+UseCompactObjectHeaders
)
# shellcheck disable=SC2206 # JAVA_OPTS is a whitespace-separated list by convention
extra_flags=(${JAVA_OPTS:-})

exec "$SIGNAL_SERVER_JAVA" "${jvm_flags[@]}" "${extra_flags[@]}" \
  "-Dsecrets.bundle.filename=$secrets_bundle" \
  -jar "$SIGNAL_SERVER_JAR" "$@"
