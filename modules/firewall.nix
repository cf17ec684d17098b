# Firewall: only what clients reach from outside. Everything internal listens on loopback.
{
  config,
  lib,
  ...
}:
let
  cfg = config.services.sweetlies;
  inherit (cfg) topology;
  inherit (topology) ports;
in
{
  config = lib.mkIf cfg.enable {
    networking.firewall = {
      enable = true;
      allowedTCPPorts =
        lib.optionals (topology.hasRole "edge") [
          80 # ACME http-01 and the redirect to https
          443
        ]
        ++ lib.optionals (topology.hasRole "turn") [
          ports.turn
          ports.turnTls
        ];
      allowedUDPPorts = lib.optionals (topology.hasRole "turn") [
        ports.turn
        ports.turnTls
      ];
      allowedUDPPortRanges = lib.optionals (topology.hasRole "turn") [
        {
          from = ports.turnRelayMin;
          to = ports.turnRelayMax;
        }
      ];
    };
  };
}
