# FoundationDB (`foundationdb` role): a single node holding Signal-Server's message store
# (foundationDbMessages, cluster file /etc/foundationdb/fdb.cluster). The nixpkgs module
# creates the cluster file and runs `configure new single ssd` on first start.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.sweetlies;
  fcfg = cfg.foundationdb;
  enabled = cfg.enable && cfg.topology.hasRole "foundationdb";
in
{
  options.services.sweetlies.foundationdb = {
    memory = lib.mkOption {
      type = lib.types.str;
      default = "4GiB";
      description = ''
        fdbserver's memory limit (it restarts itself above it). Upstream's default is 8GiB, twice
        its intended use; 4GiB suits an appliance with 8 GB of RAM shared with the JVM.
      '';
    };
    storageMemory = lib.mkOption {
      type = lib.types.str;
      default = "512MiB";
      description = "Storage engine cache of the ssd engine.";
    };
    serverProcesses = lib.mkOption {
      type = lib.types.ints.positive;
      default = 1;
      description = "fdbserver processes (one per core is FoundationDB's rule; one suffices for a small org).";
    };
  };

  config = lib.mkIf enabled {
    services.foundationdb = {
      enable = true;
      # The client library the server is built against comes from the same attribute.
      package = pkgs.foundationdb;
      publicAddress = "127.0.0.1";
      listenAddress = "public";
      listenPortStart = cfg.topology.ports.foundationdb;
      inherit (fcfg) memory storageMemory serverProcesses;
      backupProcesses = 0;
    };
  };
}
