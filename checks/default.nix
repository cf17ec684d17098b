# Flake checks (`nix flake check` on a Nix machine with network). The CI of the build-less
# machines runs the parts it can in checks/ci/nix-*.sh.
{
  pkgs,
  self,
  signal-server,
}:
let
  inherit (pkgs) lib;

  lockMismatches = import ../modules/lib/flake-lock-check.nix { };

  # The script finds the series relative to itself, so it runs from a copy of these paths.
  patchCheckSources = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ./patches-apply.sh
      ../patches
    ];
  };

  nixSources = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.fileFilter (file: file.hasExt "nix") ../.;
  };
in
{
  inherit (pkgs) sweetlies-appliance sweetlies-dynamo;
  server = pkgs.sweetlies-server;

  # flake.lock pins what modules/lib/flake-pins.nix (and so the patches and docs) name.
  lock-matches-pins =
    if lockMismatches == [ ] then
      pkgs.runCommand "lock-matches-pins" { } "touch $out"
    else
      throw (lib.concatStringsSep "\n" lockMismatches);

  # The patch series applies to the pinned Signal-Server with git apply and GNU patch.
  signal-server-patches = pkgs.runCommand "signal-server-patches-apply" {
    nativeBuildInputs = [
      pkgs.git
      pkgs.gnupatch
    ];
  } "bash ${patchCheckSources}/checks/patches-apply.sh --tree ${signal-server} signal-server && touch $out";

  nix-format = pkgs.runCommand "nix-format" { nativeBuildInputs = [ pkgs.nixfmt ]; } ''
    find ${nixSources} -name '*.nix' -print0 | xargs -0 nixfmt --check
    touch $out
  '';

  deadnix = pkgs.runCommand "deadnix" { nativeBuildInputs = [ pkgs.deadnix ]; } ''
    deadnix --fail ${nixSources}
    touch $out
  '';
}
# The NixOS VM test of a whole appliance (helper `modules`): `{ pkgs, self }: <derivation>`.
// lib.optionalAttrs (builtins.pathExists ./appliance.nix) {
  appliance = import ./appliance.nix { inherit pkgs self; };
}
