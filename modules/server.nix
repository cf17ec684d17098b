# Signal-Server (`chat` role): the `server` process, its long-running worker processes and the
# periodic clean-up commands the pinned server registers in WhisperServerService.initialize,
# each as its own hardened systemd unit sharing one generated configuration.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.sweetlies;
  scfg = cfg.server;
  inherit (cfg) topology;
  inherit (topology) ports paths;
  json = pkgs.formats.json { };
  enabled = cfg.enable && topology.hasRole "chat";

  generated = import ./lib/server-settings.nix { inherit (cfg) org public hostName; };

  # Worker commands that extend Dropwizard's ServerCommand open the `server` connectors as well.
  withConnectors = http: admin: settings: settings // {
    server = settings.server // {
      applicationConnectors = [
        {
          type = "http";
          bindHost = "127.0.0.1";
          port = http;
        }
      ];
      adminConnectors = [
        {
          type = "http";
          bindHost = "127.0.0.1";
          port = admin;
        }
      ];
    };
  };

  configFile = name: settings: json.generate "signal-server-${name}.yml" settings;

  # Dropwizard substitutes ${VALKEY_PASSWORD} (only accepted inside the redis:// URIs) and
  # ${KT_CLIENT_CERTIFICATE} from the environment, taken here from the unit's credentials. The
  # certificate goes into a JSON string: its newlines are written as \n escapes.
  launcher = pkgs.writeShellScript "signal-server-launch" ''
    set -euo pipefail
    VALKEY_PASSWORD="$(< "$CREDENTIALS_DIRECTORY/valkey-password")"
    KT_CLIENT_CERTIFICATE="$(${pkgs.gawk}/bin/awk 'BEGIN { ORS = "\\n" } { print }' "$CREDENTIALS_DIRECTORY/kt-client.crt")"
    export VALKEY_PASSWORD KT_CLIENT_CERTIFICATE
    exec ${lib.getExe scfg.package} --secrets-bundle "$CREDENTIALS_DIRECTORY/secrets-bundle.yml" "$@"
  '';

  # Long-running processes: name -> command line and configuration.
  daemons = {
    signal-server = {
      description = "Signal-Server";
      args = [ "server" ];
      settings = scfg.settings;
    };
    signal-server-message-persister = {
      description = "Signal-Server message persister (Valkey message cache to DynamoDB)";
      args = [
        "message-persister-service"
        "--workers"
        (toString scfg.messagePersisterWorkers)
      ];
      settings = withConnectors ports.messagePersisterHttp ports.messagePersisterAdmin scfg.settings;
    };
    signal-server-idle-device-jobs = {
      description = "Signal-Server scheduled jobs (idle device notifications)";
      args = [ "process-idle-device-notification-jobs" ];
      settings = withConnectors ports.idleDeviceJobsHttp ports.idleDeviceJobsAdmin scfg.settings;
    };
  };

  # One-shot crawlers, run by timers. Upstream defaults them all to --dry-run true.
  periodic = {
    remove-expired-accounts = [ "remove-expired-accounts" ];
    remove-expired-devices = [ "remove-expired-devices" ];
    remove-expired-username-holds = [ "remove-expired-username-holds" ];
    remove-orphaned-pre-key-pages = [ "remove-orphaned-pre-key-pages" ];
    clear-expired-foundationdb-messages = [
      "clear-expired-foundationdb-messages"
      "--message-ttl-days"
      (toString scfg.messageTtlDays)
    ];
  };

  # What the server talks to, when it runs on this host.
  localDependencies =
    lib.optional (topology.hasRole "dynamo") "sweetlies-dynamo-tables.service"
    ++ lib.optional (topology.hasRole "valkey") "sweetlies-valkey-cluster.service"
    ++ lib.optional (topology.hasRole "garage") "sweetlies-garage-setup.service"
    ++ lib.optional (topology.hasRole "foundationdb") "foundationdb.service"
    ++ lib.optional (topology.hasRole "turn") "sweetlies-turn-shim.service";

  unit = name: description: args: settings: serviceConfig: {
    inherit description;
    requires = cfg.secrets.unitDependencies.requires ++ localDependencies;
    after = cfg.secrets.unitDependencies.after ++ localDependencies ++ [ "network.target" ];
    environment = {
      AWS_ENDPOINT_URL_DYNAMODB = "http://${topology.addressFor "dynamo"}:${toString ports.dynamo}";
      # The worker commands (CommandDependencies) build their S3 clients without the
      # configuration's endpointOverride; the SDK's service-specific variable points them at Garage.
      AWS_ENDPOINT_URL_S3 = topology.s3.endpoint;
      AWS_REGION = topology.s3.region;
      # Never ask the EC2 instance metadata service (169.254.169.254) for anything.
      AWS_EC2_METADATA_DISABLED = "true";
      JAVA_OPTS = lib.concatStringsSep " " (
        [
          "-Xmx${scfg.jvmMemory}"
          "-Djava.io.tmpdir=/tmp"
        ]
        ++ scfg.extraJavaOptions
      );
    };
    # The JVM needs W^X off (JIT), netlink for its network interface lookup, and extracts its
    # JNI libraries to /tmp.
    serviceConfig =
      import ./lib/hardening.nix {
        inherit (scfg) allowedAddresses;
        addressFamilies = [
          "AF_UNIX"
          "AF_INET"
          "AF_INET6"
          "AF_NETLINK"
        ];
        memoryDenyWriteExecute = false;
      }
      // {
      ExecStart = "${launcher} ${lib.escapeShellArgs args} ${configFile name settings}";
      EnvironmentFile = "${paths.secretsDir}/signal-server/aws.env";
      LoadCredential = [
        (cfg.secrets.credential "secrets-bundle.yml" "signal-server/secrets-bundle.yml")
        (cfg.secrets.credential "valkey-password" "valkey/password")
        (cfg.secrets.credential "kt-client.crt" "tls/keytransparency-client.crt")
      ];
      User = "sweetlies-server";
      Group = "sweetlies-server";
      AmbientCapabilities = "";
      RemoveIPC = true;
      # A denied system call fails with EPERM instead of killing the JVM.
      SystemCallErrorNumber = "EPERM";
    }
    // serviceConfig;
  };
in
{
  options.services.sweetlies.server = {
    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.sweetlies-server;
      defaultText = lib.literalExpression "pkgs.sweetlies-server";
      description = "Signal-Server built from the pinned source with the Sweet Lies patches.";
    };

    settings = lib.mkOption {
      type = json.type;
      default = { };
      description = ''
        Signal-Server configuration (Dropwizard YAML, written as JSON). Defaults to
        modules/lib/server-settings.nix for this host; any leaf can be overridden. Secrets only as
        `secret://<bundle key>`: this file is in the Nix store.
      '';
    };

    jvmMemory = lib.mkOption {
      type = lib.types.strMatching "[0-9]+[kKmMgG]";
      default = "2g";
      example = "6g";
      description = "Maximum JVM heap (-Xmx) of the server; each worker process gets the same.";
    };

    extraJavaOptions = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      description = "More JVM options for every Signal-Server process.";
    };

    messagePersisterWorkers = lib.mkOption {
      type = lib.types.ints.positive;
      default = 4;
      description = "Concurrency of the message persister (`message-persister-service --workers`).";
    };

    messageTtlDays = lib.mkOption {
      type = lib.types.ints.positive;
      default = 30;
      description = "Age in days after which FoundationDB messages are removed (matches dynamoDbTables.messages.expiration).";
    };

    cleanupSchedule = lib.mkOption {
      type = lib.types.str;
      default = "daily";
      description = "systemd OnCalendar= of the clean-up commands (expired accounts, devices, username holds, orphaned prekey pages, expired FoundationDB messages).";
    };

    acceptOpenRegistration = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = ''
        Run a non-demo org although registration is open: without a registration service the
        server uses upstream's stub, which accepts every verification code, so anyone who reaches
        the chat API can register any number. Invite-code registration will replace it.
      '';
    };

    allowedAddresses = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ "localhost" ];
      example = [
        "localhost"
        "10.0.0.0/24"
      ];
      description = ''
        IPAddressAllow= of the server units (everything else is denied): only loopback on a
        single host; add the other hosts' addresses when roles are spread over several.
      '';
    };
  };

  config = lib.mkIf enabled {
    assertions = [
      {
        assertion = (cfg.org.demo or false) || scfg.acceptOpenRegistration;
        message = ''
          services.sweetlies: registration on ${cfg.org.services.chat} would be open to anyone (the
          stub registration service accepts every verification code) until invite-code registration
          exists. Keep the chat API unreachable from untrusted networks and set
          services.sweetlies.server.acceptOpenRegistration = true, or wait for invite codes.
        '';
      }
    ];

    services.sweetlies.server.settings = lib.mapAttrsRecursive (_: lib.mkDefault) generated;

    users.users.sweetlies-server = {
      isSystemUser = true;
      group = "sweetlies-server";
      description = "Signal-Server";
    };
    users.groups.sweetlies-server = { };

    systemd.services =
      lib.mapAttrs (
        name: daemon:
        unit name daemon.description daemon.args daemon.settings {
          Restart = "always";
          RestartSec = 5;
        }
        // {
          wantedBy = [ "multi-user.target" ];
        }
      ) daemons
      // lib.mapAttrs' (
        name: args:
        lib.nameValuePair "signal-server-${name}" (
          unit name "Signal-Server ${name}" (args ++ [
            "--dry-run"
            "false"
          ]) scfg.settings { Type = "oneshot"; }
        )
      ) periodic;

    systemd.timers = lib.mapAttrs' (
      name: _:
      lib.nameValuePair "signal-server-${name}" {
        wantedBy = [ "timers.target" ];
        timerConfig = {
          OnCalendar = scfg.cleanupSchedule;
          RandomizedDelaySec = "1h";
          Persistent = true;
        };
      }
    ) periodic;
  };
}
