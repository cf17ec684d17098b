# One binary of this repository's Cargo workspace (root package + crates/*), built with
# rustPlatform.buildRustPackage from Cargo.lock (no vendor hash to maintain).
{
  lib,
  rustPlatform,
}:
{
  pname,
  # The package's Cargo.toml (its version is taken from there, or from the workspace).
  manifest,
  description,
  mainProgram ? pname,
}:
let
  root = ../.;
  readToml = file: builtins.fromTOML (builtins.readFile file);
  declaredVersion = (readToml manifest).package.version;
  version =
    if builtins.isAttrs declaredVersion then
      (readToml (root + "/Cargo.toml")).workspace.package.version
    else
      declaredVersion;
in
rustPlatform.buildRustPackage {
  inherit pname version;

  src = lib.fileset.toSource {
    inherit root;
    # What cargo reads (sources, include_str! templates, cargo config); not the Nix files,
    # so editing them does not rebuild the Rust packages.
    fileset = lib.fileset.unions (
      [
        (root + "/Cargo.toml")
        (root + "/Cargo.lock")
        (root + "/src")
        (root + "/crates")
      ]
      ++ map lib.fileset.maybeMissing [
        (root + "/templates")
        (root + "/.cargo")
      ]
    );
  };

  # Every dependency comes from crates.io with its checksum in Cargo.lock: no vendor hash.
  cargoLock.lockFile = root + "/Cargo.lock";

  cargoBuildFlags = [
    "--package"
    pname
  ];

  # The workspace tests need a running PostgreSQL, loop devices and disk tools that the
  # build sandbox lacks; CI runs them for real (checks/run-all.sh).
  doCheck = false;

  meta = {
    inherit description mainProgram;
    license = lib.licenses.agpl3Only;
    platforms = [
      "x86_64-linux"
      "aarch64-linux"
    ];
  };
}
