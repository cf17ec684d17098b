#!/usr/bin/env bash
# The Signal-Server launcher (pkgs/signal-server/signal-server.sh) refuses to start without
# what the server needs and hands the JVM exactly the secrets bundle, flags and command.
# The JVM is replaced by a program that records its arguments: what is under test is the
# launcher's own argument handling, the server itself runs in the NixOS VM tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
launcher="$PWD/pkgs/signal-server/signal-server.sh"

source checks/lib/tally.sh

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat >"$work/java" <<'SH'
#!/usr/bin/env bash
printf '%s\n' "$@" >"$RECORD"
SH
chmod +x "$work/java"
touch "$work/server.jar"
printf 'key: insecure-test-value\n' >"$work/bundle.yml"
chmod 600 "$work/bundle.yml"
export RECORD="$work/args" SIGNAL_SERVER_JAVA="$work/java" SIGNAL_SERVER_JAR="$work/server.jar"
unset SIGNAL_SERVER_SECRETS_BUNDLE JAVA_OPTS

# expect_refusal <label> <message fragment> <launcher args...>
expect_refusal() {
  local label="$1" fragment="$2" out rc
  shift 2
  rm -f "$RECORD"
  out="$(bash "$launcher" "$@" 2>&1)" && rc=0 || rc=$?
  if [ "$rc" -eq 2 ] && [[ "$out" == *"$fragment"* ]] && [ ! -e "$RECORD" ]; then
    ok "$label"
  else
    bad "$label (rc $rc, java ran: $([ -e "$RECORD" ] && echo yes || echo no), output: $out)"
  fi
}

expect_refusal "no secrets bundle is refused" "no secrets bundle" server "$work/config.yml"
expect_refusal "a missing secrets bundle is refused with what to do" "sweetlies-appliance secrets decrypt" \
  --secrets-bundle "$work/absent.yml" server "$work/config.yml"
expect_refusal "no command is refused" "no command given" --secrets-bundle "$work/bundle.yml"
expect_refusal "--secrets-bundle without a value is refused" "needs a file argument" --secrets-bundle
SIGNAL_SERVER_JAR="$work/absent.jar" expect_refusal "an unreadable jar is refused" "is not readable" \
  --secrets-bundle "$work/bundle.yml" check "$work/config.yml"

rm -f "$RECORD"
JAVA_OPTS="-Xmx2g -Dfoo=bar" bash "$launcher" --secrets-bundle "$work/bundle.yml" server "$work/config.yml"
mapfile -t args <"$RECORD"
n=${#args[@]}
if [ "$n" -ge 6 ] &&
  [ "${args[$((n - 5))]}" = "-Dsecrets.bundle.filename=$work/bundle.yml" ] &&
  [ "${args[$((n - 4))]}" = "-jar" ] && [ "${args[$((n - 3))]}" = "$work/server.jar" ] &&
  [ "${args[$((n - 2))]}" = "server" ] && [ "${args[$((n - 1))]}" = "$work/config.yml" ]; then
  ok "server gets the bundle property, the jar and its command line last"
else
  bad "unexpected JVM arguments: ${args[*]}"
fi
if printf '%s\n' "${args[@]}" | grep -qx -- '-Xmx2g' && printf '%s\n' "${args[@]}" | grep -qx -- '-Dfoo=bar' &&
  printf '%s\n' "${args[@]}" | grep -qx -- '-Dlog4j2.formatMsgNoLookups=true'; then
  ok "upstream JVM flags and JAVA_OPTS are passed"
else
  bad "JVM flags missing: ${args[*]}"
fi
if printf '%s\n' "${args[@]}" | grep -q 'HeapDump'; then
  bad "heap dumps (which would hold the secrets) are enabled"
else
  ok "no heap dump flags"
fi

rm -f "$RECORD"
SIGNAL_SERVER_SECRETS_BUNDLE="$work/bundle.yml" bash "$launcher" remove-expired-accounts --dry-run true "$work/config.yml"
if [ "$(tail -n 4 "$RECORD" | tr '\n' ' ')" = "remove-expired-accounts --dry-run true $work/config.yml " ] &&
  grep -qx -- "-Dsecrets.bundle.filename=$work/bundle.yml" "$RECORD"; then
  ok "a worker command with options runs, bundle from SIGNAL_SERVER_SECRETS_BUNDLE"
else
  bad "worker invocation recorded: $(tr '\n' ' ' <"$RECORD")"
fi

tally nix-launcher
