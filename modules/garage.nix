# Garage (`garage` role): S3 for prekey pages, attachments (cdn0 and, through tus, cdn3) and
# the dynamic configuration. A oneshot gives the single node its layout, imports the key from the
# secrets, creates the buckets and uploads the dynamic configuration generated from the org spec.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.sweetlies;
  inherit (cfg) topology;
  inherit (topology) ports s3;
  enabled = cfg.enable && topology.hasRole "garage";
  credentials = "/run/credentials/garage.service";

  dynamicConfig = pkgs.writeText "dynamic-config.yaml" (
    builtins.toJSON (import ./lib/dynamic-config.nix { inherit (cfg) org; })
  );
in
{
  options.services.sweetlies.garage = {
    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.garage;
      defaultText = lib.literalExpression "pkgs.garage";
      description = "Garage package (pin a major version before upgrading an existing host).";
    };
    capacity = lib.mkOption {
      type = lib.types.str;
      default = "100G";
      description = "Storage capacity announced in the single node's layout.";
    };
  };

  config = lib.mkIf enabled {
    services.garage = {
      enable = true;
      package = cfg.garage.package;
      settings = {
        replication_factor = 1;
        db_engine = "sqlite";
        rpc_bind_addr = "127.0.0.1:${toString ports.garageRpc}";
        rpc_public_addr = "127.0.0.1:${toString ports.garageRpc}";
        rpc_secret_file = "${credentials}/rpc-secret";
        s3_api = {
          s3_region = s3.region;
          api_bind_addr = "127.0.0.1:${toString ports.garageS3}";
          root_domain = ".${s3.rootDomain}";
        };
        admin = {
          api_bind_addr = "127.0.0.1:${toString ports.garageAdmin}";
          admin_token_file = "${credentials}/admin-token";
        };
      };
    };

    systemd.services.garage = {
      requires = cfg.secrets.unitDependencies.requires;
      after = cfg.secrets.unitDependencies.after;
      serviceConfig = {
        LoadCredential = [
          (cfg.secrets.credential "rpc-secret" "garage/rpc-secret")
          (cfg.secrets.credential "admin-token" "garage/admin-token")
        ];
        PrivateTmp = true;
        PrivateDevices = true;
        ProtectSystem = "strict";
        CapabilityBoundingSet = "";
        RestrictAddressFamilies = [
          "AF_UNIX"
          "AF_INET"
          "AF_INET6"
        ];
        IPAddressDeny = "any";
        IPAddressAllow = "localhost";
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectControlGroups = true;
        RestrictNamespaces = true;
        LockPersonality = true;
        SystemCallArchitectures = "native";
      };
    };

    systemd.services.sweetlies-garage-setup = {
      description = "Garage layout, key, buckets and Signal-Server dynamic configuration";
      wantedBy = [ "multi-user.target" ];
      requires = [ "garage.service" ] ++ cfg.secrets.unitDependencies.requires;
      after = [ "garage.service" ] ++ cfg.secrets.unitDependencies.after;
      path = [
        cfg.garage.package
        pkgs.awscli2
        pkgs.gnugrep
        pkgs.gawk
      ];
      environment = {
        AWS_REGION = s3.region;
        AWS_EC2_METADATA_DISABLED = "true";
        HOME = "/tmp";
      };
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        # Root: the garage CLI reads the daemon's node key and rpc secret (garage runs as a
        # DynamicUser), through /etc/garage.toml.
        EnvironmentFile = "${topology.paths.secretsDir}/garage/s3.env";
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateDevices = true;
        NoNewPrivileges = true;
        CapabilityBoundingSet = [ "CAP_DAC_READ_SEARCH" ];
        RestrictAddressFamilies = [
          "AF_UNIX"
          "AF_INET"
          "AF_INET6"
        ];
        IPAddressDeny = "any";
        IPAddressAllow = "localhost";
      };
      script = ''
        set -euo pipefail
        garage() { command garage -c /etc/garage.toml "$@"; }
        for attempt in $(seq 60); do
          garage status >/dev/null 2>&1 && break
          sleep 1
        done
        if garage status | grep -q 'NO ROLE ASSIGNED'; then
          node=$(garage node id -q | cut -d@ -f1)
          garage layout assign -z ${lib.escapeShellArg cfg.hostName} -c ${lib.escapeShellArg cfg.garage.capacity} "$node"
          version=$(garage layout show | awk '/Current cluster layout version:/ { print $NF }')
          garage layout apply --version $((version + 1))
        fi
        if ! garage key info "$GARAGE_ACCESS_KEY_ID" >/dev/null 2>&1; then
          garage key import --yes -n sweetlies "$GARAGE_ACCESS_KEY_ID" "$GARAGE_SECRET_ACCESS_KEY"
        fi
        for bucket in ${lib.escapeShellArgs (lib.attrValues s3.buckets)}; do
          garage bucket info "$bucket" >/dev/null 2>&1 || garage bucket create "$bucket"
          garage bucket allow --read --write --owner "$bucket" --key "$GARAGE_ACCESS_KEY_ID"
        done
        # Attachment downloads are public (the content is end-to-end encrypted): nginx serves
        # them from Garage's web endpoint.
        for bucket in ${lib.escapeShellArgs [ s3.buckets.cdn0 s3.buckets.cdn3 ]}; do
          garage bucket website --allow "$bucket"
        done

        export AWS_ACCESS_KEY_ID="$GARAGE_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$GARAGE_SECRET_ACCESS_KEY"
        s3() { aws --endpoint-url http://127.0.0.1:${toString ports.garageS3} s3 "$@"; }
        # Regenerated from the org spec on every boot.
        s3 cp ${dynamicConfig} s3://${s3.buckets.config}/dynamic-config.yaml
      '';
    };
  };
}
