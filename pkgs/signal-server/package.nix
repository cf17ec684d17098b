# Signal-Server built from the pinned upstream source with Maven, fully offline after the
# dependency fetch: JDK 25 from nixpkgs (source-built), protoc (source-built) and
# protoc-gen-grpc-java (upstream's binary, pinned by nixpkgs' hash) from nixpkgs instead of
# the executables Maven would resolve, the FoundationDB client library from nixpkgs instead
# of the download in the `exclude-spam-filter` profile, and the version that jgitver would
# derive from git replaced by the pinned one. docs/building.md explains each step.
{
  lib,
  stdenv,
  maven,
  jdk25,
  jdk25_headless,
  protobuf,
  protoc-gen-grpc-java,
  foundationdb,
  makeWrapper,
  # The Signal-Server source tree (the `signal-server` flake input).
  src,
  # modules/lib/flake-pins.nix
  pins,
  # SRI hash of the Maven dependency closure; null until someone computed it (see below).
  mvnHash ? pins.signalServer.mvnHashes.${stdenv.hostPlatform.system} or null,
}:
let
  inherit (pins.signalServer) version outputTimestamp;
  inherit (stdenv.hostPlatform) system;

  patchDir = ../../patches/signal-server;
  patchNames = builtins.filter (line: line != "" && !lib.hasPrefix "#" line) (
    lib.splitString "\n" (builtins.readFile (patchDir + "/series"))
  );

  missingMvnHash = throw ''
    Signal-Server's Maven dependency hash for ${system} is not recorded yet
    (modules/lib/flake-pins.nix: signalServer.mvnHashes.${system} = null).
    It can only be computed on a Nix machine with network access. In a checkout of this
    repository there, run:

      nix build --impure --expr 'let f = builtins.getFlake (toString ./.); in f.packages.${system}.server.override { mvnHash = ""; }'

    Nix downloads the dependencies, then stops with "hash mismatch ... got: sha256-...".
    Put that value into signalServer.mvnHashes.${system}, commit, and build again.
  '';

  poms = [
    "pom.xml"
    "api-doc/pom.xml"
    "integration-tests/pom.xml"
    "service/pom.xml"
    "websocket-resources/pom.xml"
  ];

  # Runs in the build and in the dependency fetch (both must see the same POMs).
  postPatch = ''
    # jgitver computes the version from .git, which a source tarball does not have.
    rm .mvn/extensions.xml .mvn/jgitver.config.xml
    for pom in ${lib.escapeShellArgs poms}; do
      substituteInPlace "$pom" --replace-fail '<version>JGITVER</version>' '<version>${version}</version>'
    done

    # Code generators from nixpkgs instead of the executables Maven would download.
    substituteInPlace pom.xml \
      --replace-fail \
        '<protocArtifact>com.google.protobuf:protoc:''${protobuf.version}:exe:''${os.detected.classifier}</protocArtifact>' \
        '<protocExecutable>${lib.getExe' protobuf "protoc"}</protocExecutable>' \
      --replace-fail \
        '<pluginArtifact>io.grpc:protoc-gen-grpc-java:''${grpc.version}:exe:''${os.detected.classifier}</pluginArtifact>' \
        '<pluginExecutable>${lib.getExe protoc-gen-grpc-java}</pluginExecutable>'
  '';

  mvnParameters = lib.concatStringsSep " " [
    # Only the server and what it needs (api-doc and integration-tests are not shipped).
    "-pl service -am"
    # The private spam-filter module is not available; upstream activates this profile when
    # spam-filter/pom.xml is missing, say it explicitly.
    "-Pexclude-spam-filter"
    # The profile would download libfdb_c.so from GitHub; nixpkgs provides it at run time.
    "-Ddownload.plugin.skip=true"
    # Deterministic jar entries.
    "-Dproject.build.outputTimestamp=${outputTimestamp}"
  ];

  versionIn = lo: hi: v: lib.versionAtLeast v lo && lib.versionAtLeast hi v;
in
assert lib.assertMsg (lib.versionAtLeast maven.version pins.mavenMin)
  "Signal-Server's enforcer rule needs Maven >= ${pins.mavenMin}, nixpkgs has ${maven.version}: pass a newer maven to pkgs/signal-server/package.nix.";
assert lib.assertMsg (versionIn pins.codegen.protocMin pins.codegen.protocMax protobuf.version)
  "protoc ${protobuf.version} from nixpkgs is outside ${pins.codegen.protocMin}..${pins.codegen.protocMax}: generated code must not be newer than Signal-Server's protobuf-java runtime. Pass a matching protobuf_NN as `protobuf`.";
assert lib.assertMsg (lib.versions.majorMinor foundationdb.version == pins.foundationdb.series)
  "FoundationDB ${foundationdb.version} from nixpkgs is not a ${pins.foundationdb.series}.x client (API ${toString pins.foundationdb.apiVersion}) as Signal-Server ${version} expects.";
# Stubs from a newer gRPC generator may use runtime API that the grpc-java runtime lacks;
# that fails at compile time (javac), not silently, so a mismatch only warns.
lib.warnIf (lib.versionOlder pins.codegen.grpcJavaRuntime protoc-gen-grpc-java.version)
  "protoc-gen-grpc-java ${protoc-gen-grpc-java.version} from nixpkgs is newer than Signal-Server's grpc-java runtime ${pins.codegen.grpcJavaRuntime}; if javac fails on generated *Grpc.java stubs, pass a protoc-gen-grpc-java of that version."
  maven.buildMavenPackage
  {
    pname = "signal-server";
    inherit
      version
      src
      postPatch
      mvnParameters
      ;

    patches = map (name: patchDir + "/${name}") patchNames;

    mvnJdk = jdk25;
    mvnHash = if mvnHash == null then missingMvnHash else mvnHash;
    mvnFetchExtraArgs = { inherit postPatch; };

    # The server's tests need Docker (testcontainers); the NixOS VM tests cover the service.
    doCheck = false;

    nativeBuildInputs = [ makeWrapper ];

    installPhase = ''
      runHook preInstall

      install -Dm444 service/target/TextSecureServer-${version}.jar $out/share/signal-server/signal-server.jar
      install -Dm555 ${./signal-server.sh} $out/libexec/signal-server
      # libfdb_c.so for fdb-java's JNI library; libgcc_s/libstdc++ for the JNI libraries that
      # the jar extracts at run time (libsignal, FoundationDB), which are built for glibc systems.
      makeWrapper $out/libexec/signal-server $out/bin/signal-server \
        --set SIGNAL_SERVER_JAVA ${lib.getExe' jdk25_headless "java"} \
        --set SIGNAL_SERVER_JAR $out/share/signal-server/signal-server.jar \
        --prefix LD_LIBRARY_PATH : ${
          lib.makeLibraryPath [
            foundationdb
            stdenv.cc.cc
          ]
        }

      runHook postInstall
    '';

    passthru = {
      inherit patchNames;
      jar = "share/signal-server/signal-server.jar";
    };

    meta = {
      description = "Signal-Server ${version} with the Sweet Lies patches, built from source";
      homepage = "https://github.com/signalapp/Signal-Server";
      license = lib.licenses.agpl3Only;
      mainProgram = "signal-server";
      platforms = [
        "x86_64-linux"
        "aarch64-linux"
      ];
    };
  }
