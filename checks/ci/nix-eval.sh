#!/usr/bin/env bash
# Evaluates the flake's pure parts without nixpkgs: the version pins, flake.lock against
# them, host discovery (on fixtures and on the repository's hosts/), and the upstream pins
# that each org.json records.
set -euo pipefail
# Pure evaluation needs no Nix store; without this a non-root user would need the daemon.
export NIX_REMOTE=dummy://
cd "$(dirname "$0")/../.."
repo="$PWD"

source checks/lib/tally.sh
eval_json() { nix-instantiate --eval --strict --json "$@"; }

# --- pins ---------------------------------------------------------------------------------
if pins="$(eval_json modules/lib/flake-pins.nix)"; then
  if python3 - "$pins" <<'PY'; then
import json, re, sys
p = json.loads(sys.argv[1])
sri = re.compile(r"^sha256-[A-Za-z0-9+/]{43}=$")
rev = re.compile(r"^[0-9a-f]{40}$")
ss = p["signalServer"]
problems = []
if not re.fullmatch(r"nixos-\d\d\.(05|11)", p["nixpkgs"]["branch"]): problems.append("nixpkgs branch")
for name, value in [("nixpkgs.rev", p["nixpkgs"]["rev"]), ("signalServer.rev", ss["rev"])]:
    if not rev.match(value): problems.append(name)
for name, value in [("nixpkgs.narHash", p["nixpkgs"]["narHash"]), ("signalServer.narHash", ss["narHash"])]:
    if not sri.match(value): problems.append(name)
if ss["tag"] != "v" + ss["version"]: problems.append("signalServer.tag vs version")
for system, h in ss["mvnHashes"].items():
    if h is not None and not sri.match(h): problems.append(f"mvnHashes.{system}")
if problems:
    sys.exit("malformed pins: " + ", ".join(problems))
PY
    ok "flake-pins.nix evaluates and its revisions/hashes are well formed"
  else
    bad "flake-pins.nix has malformed values"
  fi
else
  bad "flake-pins.nix does not evaluate"
fi

if mismatches="$(eval_json -E "import $repo/modules/lib/flake-lock-check.nix { }")" && [ "$mismatches" = "[]" ]; then
  ok "flake.lock pins exactly what flake-pins.nix names"
else
  bad "flake.lock disagrees with flake-pins.nix: ${mismatches:-evaluation failed}"
fi

# The lock check must notice a wrong pin (guards against a check that cannot fail).
if wrong="$(eval_json -E "import $repo/modules/lib/flake-lock-check.nix { pins = let p = import $repo/modules/lib/flake-pins.nix; in p // { signalServer = p.signalServer // { rev = \"0000000000000000000000000000000000000000\"; }; }; }")" &&
  [[ "$wrong" == *"signal-server"*"rev"* ]]; then
  ok "flake-lock-check reports a wrong signal-server rev"
else
  bad "flake-lock-check did not report a wrong rev: $wrong"
fi

# --- host discovery on fixtures -------------------------------------------------------------
fixture="$(mktemp -d)"
trap 'rm -rf "$fixture"' EXIT
discover() { # discover <hostsDir> -> {"host":"org",...}
  eval_json -E "builtins.mapAttrs (_: h: h.org) (import $repo/modules/lib/hosts.nix { hostsDir = $1; self = { nixosModules.default = { }; }; })"
}

mkdir -p "$fixture/a/hosts/acme" "$fixture/a/hosts/beta" "$fixture/a/hosts/no-entry"
touch "$fixture/a/hosts/README.md"
cat >"$fixture/a/hosts/acme/default.nix" <<'NIX'
{ self }:
{
  "acme-1" = { imports = [ self.nixosModules.default ]; };
  "acme-2" = { };
}
NIX
echo '{ self }: { "beta-1" = { imports = [ self.nixosModules.default ]; }; }' >"$fixture/a/hosts/beta/default.nix"
got="$(discover "$fixture/a/hosts" 2>&1 || true)"
if [ "$got" = '{"acme-1":"acme","acme-2":"acme","beta-1":"beta"}' ]; then
  ok "discovery finds every host of every hosts/<org>/default.nix, ignoring other entries"
else
  bad "discovery on two orgs gave: $got"
fi

got="$(discover "$fixture/missing" 2>&1 || true)"
if [ "$got" = '{}' ]; then ok "no hosts/ directory means no hosts"; else bad "missing hosts/ gave: $got"; fi

mkdir -p "$fixture/b/hosts/acme" "$fixture/b/hosts/clone"
echo '{ self }: { "acme-1" = { }; }' >"$fixture/b/hosts/acme/default.nix"
echo '{ self }: { "acme-1" = { }; }' >"$fixture/b/hosts/clone/default.nix"
if got="$(discover "$fixture/b/hosts" 2>&1)"; then
  bad "a host name defined by two orgs was accepted: $got"
elif [[ "$got" == *"host 'acme-1' is defined by both hosts/acme and hosts/clone"* ]]; then
  ok "a host name defined by two orgs is refused, naming both"
else
  bad "duplicate host error does not say what to fix: $got"
fi

mkdir -p "$fixture/c/hosts/odd"
echo '{ self }: [ "odd-1" ]' >"$fixture/c/hosts/odd/default.nix"
if got="$(discover "$fixture/c/hosts" 2>&1)"; then
  bad "a default.nix returning a list was accepted: $got"
elif [[ "$got" == *"must return an attribute set"* ]]; then
  ok "a default.nix not returning { host = module; } is refused with the expected shape"
else
  bad "wrong-shape error is unclear: $got"
fi

# --- the repository's own hosts/ -----------------------------------------------------------
if [ -d hosts ]; then
  if got="$(discover "$repo/hosts" 2>&1)"; then
    ok "hosts/ discovers $got"
  else
    bad "hosts/ does not evaluate: $got"
  fi
  for org_json in hosts/*/org.json; do
    [ -e "$org_json" ] || continue
    expr="let o = builtins.fromJSON (builtins.readFile $repo/$org_json); p = (import $repo/modules/lib/flake-pins.nix).signalServer; in (o.upstream.signalServer.rev or null) == p.rev && (o.upstream.signalServer.version or null) == p.tag"
    if [ "$(eval_json -E "$expr" 2>&1)" = "true" ]; then
      ok "$org_json records the pinned Signal-Server (tag and rev)"
    else
      bad "$org_json upstream.signalServer differs from modules/lib/flake-pins.nix (regenerate the org or bump the pin)"
    fi
  done
fi

tally nix-eval
