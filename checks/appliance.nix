# NixOS VM test of the demo org's single host (hosts/example, identities in
# checks/fixtures/example/): it boots the appliance, waits for every Sweet Lies unit, calls the
# chat API over TLS with the org CA, checks that sweetlies-dynamo holds every table of the server
# configuration, and that no unit sent a packet to a non-local address (an nftables counter on
# the output hook, which sees packets before systemd's IPAddressDeny drops them).
# Runs with `nix flake check` / `nix build .#checks.x86_64-linux.appliance` on a Nix machine.
{ pkgs, self }:
let
  inherit (pkgs) lib;
  inputs = import ../modules/lib/appliance-inputs.nix {
    orgDir = ../hosts/example;
    fixturesDir = ./fixtures/example;
  };
  inherit (inputs) hostName;
  inherit (import ../modules/lib/topology.nix { inherit (inputs) org hostName; }) paths;
  hostModule = (import ../hosts/example/default.nix { inherit self; }).${hostName};
  machine = lib.replaceStrings [ "-" ] [ "_" ] hostName;
in
pkgs.testers.runNixOSTest {
  name = "sweetlies-appliance";

  # The host module (nixosModules.default) adds the flake's overlay through nixpkgs.overlays.
  node.pkgsReadOnly = false;

  nodes.${hostName} = {
    imports = [ hostModule ];

    services.sweetlies.allowDemoKeys = true;
    # The VM boots from the test driver's disk, not from a flashed image with a seed partition.
    services.sweetlies.image.enable = false;
    services.sweetlies.foundationdb.memory = "2GiB";
    networking.hostName = hostName;

    virtualisation = {
      memorySize = 8192;
      cores = 4;
      diskSize = 8192;
    };

    # No seed partition in a VM test: install the (published, demo) host identity the way the
    # first-boot import would, before the secrets are decrypted.
    systemd.services.sweetlies-test-identity = {
      wantedBy = [ "multi-user.target" ];
      before = [ "sweetlies-secrets.service" ];
      requiredBy = [ "sweetlies-secrets.service" ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
      };
      script = "install -D -m 0400 ${inputs.identity} ${paths.hostIdentity}";
    };

    # The org's public names resolve to the appliance itself; its CA is trusted.
    networking.hosts."127.0.0.1" = inputs.serviceNames;
    security.pki.certificates = [ inputs.orgCaCertificate ];

    # Count (and log) every packet leaving for a non-loopback address. The appliance has no
    # reason to send any; NTP is configured per site, so it is off here.
    services.timesyncd.enable = lib.mkForce false;
    networking.nftables.enable = true;
    networking.nftables.tables.sweetlies-egress = {
      family = "inet";
      content = ''
        counter nonlocal { }
        chain output {
          type filter hook output priority -10; policy accept;
          oifname "lo" accept
          ip daddr 127.0.0.0/8 accept
          ip6 daddr ::1 accept
          meta l4proto { icmp, ipv6-icmp } accept
          counter name nonlocal log prefix "sweetlies-egress: "
        }
      '';
    };

    environment.systemPackages = [
      pkgs.curl
      pkgs.awscli2
      pkgs.jq
    ];
  };

  testScript =
    { nodes, ... }:
    let
      config = nodes.${hostName};
      # Every long-running or setup unit of ours (timer-driven clean-ups excluded: they are
      # started below, one by one).
      timerUnits = lib.attrNames config.systemd.timers;
      units = lib.filter (name: !(lib.elem name timerUnits)) (
        lib.filter (
          name:
          lib.any (prefix: lib.hasPrefix prefix name) [
            "sweetlies-"
            "signal-server"
            "redis-sweetlies-"
          ]
          || lib.elem name [
            "garage"
            "coturn"
            "nginx"
            "foundationdb"
            "postgresql"
          ]
        ) (lib.attrNames config.systemd.services)
      );
    in
    ''
      import json

      start_all()
      ${machine}.wait_for_unit("multi-user.target", timeout=1800)
      for unit in ${builtins.toJSON units}:
          ${machine}.wait_for_unit(unit, timeout=900)

      with subtest("the chat API answers over TLS with the org CA"):
          ${machine}.wait_for_open_port(${toString config.services.sweetlies.topology.ports.serverHttp})
          # 401: Signal-Server itself answered (nginx alone would give 502).
          status = ${machine}.succeed(
              "curl --silent --show-error --output /dev/null --write-out '%{http_code}' ${inputs.chatUrl}/v1/config"
          )
          assert status == "401", f"chat API answered {status}"

      with subtest("sweetlies-dynamo holds the server's tables"):
          listed = json.loads(${machine}.succeed(
              "set -a; . /run/sweetlies/secrets/signal-server/aws.env; "
              + "AWS_EC2_METADATA_DISABLED=true aws --endpoint-url http://127.0.0.1:${toString config.services.sweetlies.topology.ports.dynamo} "
              + "--region ${config.services.sweetlies.topology.s3.region} dynamodb list-tables --output json"
          ))["TableNames"]
          missing = set(${builtins.toJSON inputs.tableNames}) - set(listed)
          assert not missing, f"tables missing in sweetlies-dynamo: {sorted(missing)}"

      with subtest("the clean-up commands run"):
          for timer in ${builtins.toJSON timerUnits}:
              ${machine}.succeed(f"systemctl start {timer}.service")

      with subtest("no unit tried to reach a non-local address"):
          ${machine}.sleep(30)
          counter = json.loads(${machine}.succeed("nft --json list counter inet sweetlies-egress nonlocal"))
          packets = [c["counter"]["packets"] for c in counter["nftables"] if "counter" in c][0]
          if packets:
              print(${machine}.succeed("journalctl -k --grep sweetlies-egress --no-pager | tail -n 50"))
          assert packets == 0, f"{packets} packets left for non-local addresses"
    '';
}
