# Version pins of everything the flake builds from, in one builtins-only file so CI can
# evaluate it (`nix-instantiate --eval --strict --json modules/lib/flake-pins.nix`) and
# check it against flake.lock without nixpkgs. Bumping an upstream: see docs/building.md.
{
  nixpkgs = {
    branch = "nixos-26.05";
    # Taken from published lock files / pins of other projects (not computed here: nixpkgs
    # cannot be fetched on the build-less machines); see docs/building.md.
    rev = "21a67dc470149f337cecafbe965d8d252a390518";
    narHash = "sha256-ugpsyk3NM2s87vXfUiIIiibbJ4Pp0JPS5p/3mfs+q+c=";
  };

  signalServer = {
    owner = "signalapp";
    repo = "Signal-Server";
    tag = "v20260820.3.0";
    # What jgitver derives from the tag; replaces it in the build.
    version = "20260820.3.0";
    rev = "218a1cd75f41d6412333854c94c43ff9a96882df";
    # `git archive <rev> | tar -x -C d && nix hash path d` (SRI sha256 of the NAR).
    narHash = "sha256-SfTlt5RUUR5LKpc5hOm3qAnivXbedu6WIBCmz0jkVJk=";
    # Committer date of <rev>: what GitHub's tarball (and so the flake input) reports.
    lastModified = 1787262008;
    # Maven's project.build.outputTimestamp, the same instant, so the jars are reproducible.
    outputTimestamp = "2026-08-20T21:40:08Z";
    # Hash of the Maven dependency closure (buildMavenPackage's fixed-output derivation).
    # It can only be computed on a Nix machine with network; null means "not computed yet"
    # and makes `nix build .#server` stop with the instructions (pkgs/signal-server).
    mvnHashes = {
      x86_64-linux = null;
      aarch64-linux = null;
    };
  };

  libsignal.version = "v0.101.0";

  foundationdb = {
    # Signal-Server's foundationdb.version / api-version; the client library comes from
    # nixpkgs and must be a 7.3.x release speaking API 730.
    upstreamClientVersion = "7.3.68";
    apiVersion = 730;
    series = "7.3";
  };

  # Generated-code compatibility with the runtimes Signal-Server links. protobuf-java 4.35.1
  # refuses (at class-load time) code from a newer protoc, and 4.x needs protoc >= 26.
  # grpc-java 1.76.3: stubs from a newer plugin fail to compile if they need newer API.
  codegen = {
    protocMin = "26";
    protocMax = "35.1";
    grpcJavaRuntime = "1.76.3";
  };

  # Signal-Server's enforcer rule requireMavenVersion.
  mavenMin = "3.9.11";
}
