# coturn (`turn` role) with secret-based TURN REST credentials, and the shim that hands them to
# Signal-Server through the Cloudflare TURN API it expects (turn.cloudflare.endpoint).
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
  enabled = cfg.enable && topology.hasRole "turn";
  turnHost = cfg.org.services.turn;
  credentials = "/run/credentials/coturn.service";
in
{
  config = lib.mkIf enabled {
    services.coturn = {
      enable = true;
      realm = turnHost;
      listening-port = ports.turn;
      tls-listening-port = ports.turnTls;
      min-port = ports.turnRelayMin;
      max-port = ports.turnRelayMax;
      use-auth-secret = true;
      static-auth-secret-file = "${credentials}/static-auth-secret";
      cert = "${credentials}/turn.crt";
      pkey = "${credentials}/turn.key";
      no-cli = true;
      # Relays reach the internet only: never loopback, the host's networks or link-local.
      extraConfig = ''
        fingerprint
        no-multicast-peers
        no-tlsv1
        no-tlsv1_1
        denied-peer-ip=0.0.0.0-0.255.255.255
        denied-peer-ip=10.0.0.0-10.255.255.255
        denied-peer-ip=100.64.0.0-100.127.255.255
        denied-peer-ip=127.0.0.0-127.255.255.255
        denied-peer-ip=169.254.0.0-169.254.255.255
        denied-peer-ip=172.16.0.0-172.31.255.255
        denied-peer-ip=192.168.0.0-192.168.255.255
        denied-peer-ip=::1
        denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
        denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff
      '';
    };

    systemd.services.coturn = {
      requires = cfg.secrets.unitDependencies.requires;
      after = cfg.secrets.unitDependencies.after;
      serviceConfig.LoadCredential = [
        (cfg.secrets.credential "static-auth-secret" "turn/static-auth-secret")
        (cfg.secrets.credential "turn.crt" "tls/turn.crt")
        (cfg.secrets.credential "turn.key" "tls/turn.key")
      ];
    };

    systemd.services.sweetlies-turn-shim = {
      description = "Cloudflare TURN credentials API for Signal-Server, backed by coturn";
      wantedBy = [ "multi-user.target" ];
      requires = cfg.secrets.unitDependencies.requires;
      after = cfg.secrets.unitDependencies.after ++ [ "network.target" ];
      serviceConfig = import ./lib/hardening.nix {
        inherit (cfg.server) allowedAddresses;
        addressFamilies = [
          "AF_INET"
          "AF_INET6"
        ];
      }
      // {
        ExecStart = lib.escapeShellArgs (
          [
            (lib.getExe pkgs.python3)
            "${./turn-shim.py}"
            "--listen-host"
            (if topology.hasRole "chat" then "127.0.0.1" else "0.0.0.0")
            "--listen-port"
            (toString ports.turnShim)
            "--secrets-bundle"
            "%d/secrets-bundle.yml"
            "--static-auth-secret-file"
            "%d/static-auth-secret"
          ]
          ++ lib.concatMap (url: [
            "--url"
            url
          ]) (topology.turnUrls turnHost)
        );
        LoadCredential = [
          (cfg.secrets.credential "secrets-bundle.yml" "signal-server/secrets-bundle.yml")
          (cfg.secrets.credential "static-auth-secret" "turn/static-auth-secret")
        ];
        DynamicUser = true;
        Restart = "always";
      };
    };
  };
}
