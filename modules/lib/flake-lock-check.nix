# Compares flake.lock with modules/lib/flake-pins.nix (builtins only). Returns the list of
# mismatches as human-readable strings; empty means the lock pins exactly what the pins
# file (and so the docs, the org spec and the patches) were checked against.
{
  lock ? builtins.fromJSON (builtins.readFile ../../flake.lock),
  pins ? import ./flake-pins.nix,
}:
let
  node = name: lock.nodes.${lock.nodes.${lock.root}.inputs.${name}};

  # section: "locked" (what the lock pins) or "original" (the reference flake.nix asked for).
  expectIn =
    section: input: field: want:
    let
      have = (node input).${section}.${field} or null;
    in
    if have == want then
      [ ]
    else
      [ "flake.lock input '${input}': ${section}.${field} is ${builtins.toJSON have}, flake-pins.nix says ${builtins.toJSON want}" ];
  expect = expectIn "locked";
  expectOriginal = expectIn "original";

  ss = pins.signalServer;
in
expect "nixpkgs" "rev" pins.nixpkgs.rev
++ expect "nixpkgs" "narHash" pins.nixpkgs.narHash
++ expectOriginal "nixpkgs" "ref" pins.nixpkgs.branch
++ expect "signal-server" "rev" ss.rev
++ expect "signal-server" "narHash" ss.narHash
++ expect "signal-server" "lastModified" ss.lastModified
++ expect "signal-server" "owner" ss.owner
++ expect "signal-server" "repo" ss.repo
++ expectOriginal "signal-server" "ref" ss.tag
++ (if (node "signal-server").flake or true then [ "flake.lock input 'signal-server' must have \"flake\": false" ] else [ ])
