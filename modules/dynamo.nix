# sweetlies-dynamo (`dynamo` role, DynamoDB API on PostgreSQL), the PostgreSQL database and role
# behind it (`postgresql` role), and a oneshot that creates the server's tables.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.sweetlies;
  dcfg = cfg.dynamo;
  inherit (cfg) topology;
  inherit (topology) ports;
  database = "sweetlies_dynamo";
  runsDynamo = cfg.enable && topology.hasRole "dynamo";
  runsPostgresql = cfg.enable && topology.hasRole "postgresql";
  endpoint = "http://127.0.0.1:${toString ports.dynamo}";

  # The table names of this host's server configuration, or the generated ones on a host
  # without the `chat` role.
  dynamoDbTables =
    cfg.server.settings.dynamoDbTables
      or (import ./lib/server-settings.nix { inherit (cfg) org public hostName; }).dynamoDbTables;
  tables = import ./lib/dynamo-tables.nix { inherit dynamoDbTables; };
  ensureTables = lib.concatMapStrings (table: ''
    ensure_table ${lib.escapeShellArg table.TableName} ${pkgs.writeText "${table.TableName}.json" (builtins.toJSON table)}
  '') tables;

  hardening = import ./lib/hardening.nix { inherit (cfg.server) allowedAddresses; };
in
{
  options.services.sweetlies.dynamo = {
    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.sweetlies-dynamo;
      defaultText = lib.literalExpression "pkgs.sweetlies-dynamo";
      description = "The DynamoDB-compatible server.";
    };
    poolSize = lib.mkOption {
      type = lib.types.ints.positive;
      default = 16;
      description = "Maximum PostgreSQL connections of sweetlies-dynamo.";
    };
  };

  config = lib.mkMerge [
    (lib.mkIf runsPostgresql {
      services.postgresql = {
        enable = true;
        ensureDatabases = [ database ];
        ensureUsers = [
          {
            name = database;
            ensureDBOwnership = true;
          }
        ];
        authentication = ''
          host ${database} ${database} 127.0.0.1/32 scram-sha-256
          host ${database} ${database} ::1/128 scram-sha-256
        '';
      };

      # ensureUsers creates the role without a password; set it from the secrets.
      systemd.services.sweetlies-dynamo-db-password = {
        description = "Set the password of the sweetlies_dynamo PostgreSQL role";
        wantedBy = [ "multi-user.target" ];
        requires = [ "postgresql.service" ] ++ cfg.secrets.unitDependencies.requires;
        # nixos-25.05 and later create ensureUsers in postgresql-setup.service (ordering after a
        # unit that does not exist is a no-op on older releases).
        after = [
          "postgresql.service"
          "postgresql-setup.service"
        ]
        ++ cfg.secrets.unitDependencies.after;
        wants = [ "postgresql-setup.service" ];
        serviceConfig = hardening // {
          Type = "oneshot";
          RemainAfterExit = true;
          User = "postgres";
          Group = "postgres";
          PrivateUsers = false;
          LoadCredential = [ (cfg.secrets.credential "password" "dynamo/postgresql-password") ];
          ExecStart = lib.escapeShellArgs [
            "${pkgs.bash}/bin/bash"
            "${./postgresql-role-password.sh}"
            "${config.services.postgresql.package}/bin/psql"
            database
            "--dbname=postgres"
          ];
        };
      };
    })

    (lib.mkIf runsDynamo {
      users.users.sweetlies-dynamo = {
        isSystemUser = true;
        group = "sweetlies-dynamo";
        description = "sweetlies-dynamo";
      };
      users.groups.sweetlies-dynamo = { };

      systemd.services.sweetlies-dynamo = {
        description = "sweetlies-dynamo: DynamoDB API on PostgreSQL";
        wantedBy = [ "multi-user.target" ];
        requires = cfg.secrets.unitDependencies.requires ++ lib.optional runsPostgresql "sweetlies-dynamo-db-password.service";
        after =
          cfg.secrets.unitDependencies.after
          ++ [ "network.target" ]
          ++ lib.optional runsPostgresql "sweetlies-dynamo-db-password.service";
        serviceConfig = hardening // {
          ExecStart = lib.escapeShellArgs [
            (lib.getExe dcfg.package)
            "--listen"
            "127.0.0.1:${toString ports.dynamo}"
            "--database"
            "postgres://${database}@${topology.addressFor "postgresql"}:${toString ports.postgresql}/${database}"
            "--database-password-file"
            "%d/postgresql-password"
            "--credentials-file"
            "%d/credentials.json"
            "--pool-size"
            (toString dcfg.poolSize)
          ];
          LoadCredential = [
            (cfg.secrets.credential "postgresql-password" "dynamo/postgresql-password")
            (cfg.secrets.credential "credentials.json" "dynamo/credentials.json")
          ];
          User = "sweetlies-dynamo";
          Group = "sweetlies-dynamo";
          Restart = "always";
          RestartSec = 2;
        };
      };

      # CreateTable for every table the server configuration names, unless it exists already.
      systemd.services.sweetlies-dynamo-tables = {
        description = "Create Signal-Server's tables in sweetlies-dynamo";
        wantedBy = [ "multi-user.target" ];
        requires = [ "sweetlies-dynamo.service" ] ++ cfg.secrets.unitDependencies.requires;
        after = [ "sweetlies-dynamo.service" ] ++ cfg.secrets.unitDependencies.after;
        path = [ pkgs.awscli2 ];
        environment = {
          AWS_REGION = topology.s3.region;
          AWS_EC2_METADATA_DISABLED = "true";
          AWS_PAGER = "";
          HOME = "/tmp";
        };
        serviceConfig = hardening // {
          Type = "oneshot";
          RemainAfterExit = true;
          DynamicUser = true;
          EnvironmentFile = "${topology.paths.secretsDir}/signal-server/aws.env";
          MemoryDenyWriteExecute = false;
        };
        # One list-tables, not a describe-table per table: each aws call is a second of CLI
        # start-up, and the server waits for this unit at every boot.
        script = ''
          for attempt in $(seq 60); do
            existing=$(aws --endpoint-url ${endpoint} dynamodb list-tables --query 'TableNames[]' --output text) && break
            sleep 1
          done
          ensure_table() {
            if ! tr -s '[:space:]' '\n' <<<"$existing" | grep -qxF "$1"; then
              aws --endpoint-url ${endpoint} dynamodb create-table --cli-input-json "file://$2" >/dev/null
              echo "created table $1"
            fi
          }
          ${ensureTables}
        '';
      };
    })
  ];
}
