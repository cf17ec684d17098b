# Valkey (`valkey` role): one single-node cluster-mode instance per Signal-Server cluster client
# (cache, messages, push scheduler, rate limiters; the server's key spaces overlap, so they are
# not shared) and a standalone instance for pub/sub with keyspace notifications for string
# commands (`K$`: AccountsManager subscribes to __keyspace@0__ "set" events).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.sweetlies;
  inherit (cfg) topology;
  inherit (topology) ports;
  enabled = cfg.enable && topology.hasRole "valkey";

  clusterNames = lib.attrNames ports.valkeyClusters;
  unitName = name: "redis-sweetlies-${name}";
  passwordFile = name: "/run/credentials/${unitName name}.service/password";

  instance = name: port: extraSettings: overrides: {
    enable = true;
    inherit port;
    # Loopback on one host; other hosts reach it through the firewall rule in firewall.nix.
    bind = if lib.length (topology.hostsWithRole "chat") == 1 && topology.hasRole "chat" then "127.0.0.1" else null;
    unixSocket = null;
    requirePassFile = passwordFile name;
    settings = {
      protected-mode = "yes";
    }
    // extraSettings;
  }
  // overrides;
in
{
  config = lib.mkIf enabled {
    services.redis.package = pkgs.valkey;
    services.redis.servers =
      lib.mapAttrs' (
        name: port:
        lib.nameValuePair "sweetlies-${name}" (
          instance name port {
            cluster-enabled = "yes";
            cluster-config-file = "nodes.conf";
            cluster-require-full-coverage = "yes";
          } { }
        )
      ) ports.valkeyClusters
      // {
        # Pub/sub only: nothing worth persisting.
        sweetlies-pubsub = instance "pubsub" ports.valkeyPubsub { notify-keyspace-events = "K$"; } {
          save = [ ];
        };
      };

    systemd.services =
      lib.genAttrs (map unitName (clusterNames ++ [ "pubsub" ])) (_: {
        requires = cfg.secrets.unitDependencies.requires;
        after = cfg.secrets.unitDependencies.after;
        serviceConfig.LoadCredential = [ (cfg.secrets.credential "password" "valkey/password") ];
      })
      // {
        # A fresh single-node cluster owns no hash slots; give it all of them once.
        sweetlies-valkey-cluster = {
          description = "Assign all hash slots of the Sweet Lies Valkey clusters";
          wantedBy = [ "multi-user.target" ];
          requires = map (name: "${unitName name}.service") clusterNames ++ cfg.secrets.unitDependencies.requires;
          after = map (name: "${unitName name}.service") clusterNames ++ cfg.secrets.unitDependencies.after;
          serviceConfig =
            import ./lib/hardening.nix {
              allowedAddresses = [ "localhost" ];
              addressFamilies = [
                "AF_INET"
                "AF_INET6"
              ];
            }
            // {
              Type = "oneshot";
              RemainAfterExit = true;
              DynamicUser = true;
              ExecStart = lib.escapeShellArgs (
                [
                  "${pkgs.bash}/bin/bash"
                  "${./valkey-cluster-init.sh}"
                  "${pkgs.valkey}/bin/valkey-cli"
                ]
                ++ map toString (lib.attrValues ports.valkeyClusters)
              );
              LoadCredential = [ (cfg.secrets.credential "password" "valkey/password") ];
            };
        };
      };
  };
}
