# Sweet Lies appliance: one NixOS module per service; this file declares the options they share
# (the org spec, the host, the secrets file) and the evaluation-time gates.
{
  config,
  lib,
  ...
}:
let
  cfg = config.services.sweetlies;
  topology = import ./lib/topology.nix { inherit (cfg) org hostName; };

  # Option meanings that changed, by the configVersion that introduced the change. A host stays
  # on the version it was written for (configVersion defaults to 1 forever) until its operator
  # has read the note and bumps it; evaluation fails until then.
  migrations = {
    # "2" = "services.sweetlies.example changed meaning: …; then set configVersion = 2.";
  };
  currentConfigVersion = 1;
  pendingMigrations = lib.filterAttrs (version: _: lib.toInt version > cfg.configVersion) migrations;
in
{
  imports = [
    ./secrets.nix
    ./server.nix
    ./dynamo.nix
    ./valkey.nix
    ./foundationdb.nix
    ./garage.nix
    ./nginx.nix
    ./coturn.nix
    ./firewall.nix
    ./image.nix
  ];

  options.services.sweetlies = {
    enable = lib.mkEnableOption "the Sweet Lies services this host's roles name in the org spec";

    org = lib.mkOption {
      type = lib.types.attrsOf lib.types.anything;
      description = "The org spec, `builtins.fromJSON (builtins.readFile hosts/<org>/org.json)` (docs/org-spec.md).";
    };

    public = lib.mkOption {
      type = lib.types.attrsOf lib.types.anything;
      default = lib.importJSON (../hosts + "/${cfg.org.org}/public.json");
      defaultText = lib.literalExpression ''lib.importJSON ../hosts/''${org.org}/public.json'';
      description = "The org's public material (hosts/<org>/public.json): CA certificate, zkgroup public params, sealed-sender certificate.";
    };

    hostName = lib.mkOption {
      type = lib.types.str;
      description = "This host's name in `org.hosts` (`<org>-<n>`).";
    };

    secretsFile = lib.mkOption {
      type = lib.types.path;
      description = ''
        The host's age-encrypted secrets file (hosts/<org>/secrets/<host>.age). Encrypted, so it may
        enter the Nix store; it is decrypted at boot to a tmpfs (modules/secrets.nix).
      '';
    };

    allowDemoKeys = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Allow an org with `demo: true` (seeded, published, insecure keys). Only for VM tests.";
    };

    configVersion = lib.mkOption {
      type = lib.types.ints.positive;
      default = 1;
      description = ''
        The version of these modules' option meanings this host was written for. When an upgrade
        changes what an option means, evaluation fails with migration instructions until this is
        raised. Never raise it without reading those instructions.
      '';
    };

    topology = lib.mkOption {
      type = lib.types.attrsOf lib.types.anything;
      readOnly = true;
      internal = true;
      description = "Where each role runs and the fixed ports and names (modules/lib/topology.nix).";
    };
  };

  config = lib.mkIf cfg.enable {
    services.sweetlies.topology = topology;

    assertions = [
      {
        assertion = !(cfg.org.demo or false) || cfg.allowDemoKeys;
        message = ''
          services.sweetlies: org `${cfg.org.org}` is a demo org (`"demo": true`): its keys are
          published and insecure. Create a real org with `sweetlies-appliance new <org>`, or set
          services.sweetlies.allowDemoKeys = true for a throwaway test machine.
        '';
      }
      {
        assertion = cfg.configVersion <= currentConfigVersion;
        message = ''
          services.sweetlies.configVersion = ${toString cfg.configVersion}, but these modules only know
          versions up to ${toString currentConfigVersion}: update the Sweet Lies checkout (flake input).
        '';
      }
      {
        assertion = pendingMigrations == { };
        message = ''
          services.sweetlies: this upgrade changes the meaning of options this host uses. For each note
          below, adapt the host, then raise services.sweetlies.configVersion to its version:
          ${lib.concatStringsSep "\n" (lib.mapAttrsToList (version: note: "  ${version}: ${note}") pendingMigrations)}
        '';
      }
      {
        assertion = config.networking.hostName == cfg.hostName;
        message = "services.sweetlies.hostName (${cfg.hostName}) differs from networking.hostName (${config.networking.hostName}).";
      }
    ];

    # The AWS SDK addresses buckets as <bucket>.s3.localhost (virtual-host style); Garage answers
    # them through s3_api.root_domain. Pin the names to loopback instead of relying on NSS.
    networking.hosts."127.0.0.1" = [
      topology.s3.rootDomain
    ]
    ++ map (bucket: "${bucket}.${topology.s3.rootDomain}") (lib.attrValues topology.s3.buckets);
  };
}
