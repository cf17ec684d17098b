# Boot-time secrets: the host's age identity (imported from the SWEETSEED partition at first
# boot by modules/image.nix) decrypts services.sweetlies.secretsFile into a tmpfs. Services never
# read that directory themselves: each unit names the files it needs as systemd credentials
# (LoadCredential), which systemd copies into the unit's private /run/credentials/<unit>/.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.sweetlies;
  inherit (cfg.topology) paths;
in
{
  options.services.sweetlies.secrets = {
    unitDependencies = lib.mkOption {
      type = lib.types.attrsOf (lib.types.listOf lib.types.str);
      readOnly = true;
      default = {
        requires = [ "sweetlies-secrets.service" ];
        after = [ "sweetlies-secrets.service" ];
      };
      description = "requires/after for a unit that loads credentials from the decrypted secrets.";
    };

    credential = lib.mkOption {
      type = lib.types.functionTo (lib.types.functionTo lib.types.str);
      readOnly = true;
      default = name: file: "${name}:${paths.secretsDir}/${file}";
      defaultText = lib.literalExpression ''name: file: "''${name}:/run/sweetlies/secrets/''${file}"'';
      description = ''
        A LoadCredential= entry for one file of the decrypted secrets (path as in docs/org-spec.md).
        Units using it must also use `services.sweetlies.secrets.unitDependencies`.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    # /run is a tmpfs: the clear text never reaches a disk.
    systemd.services.sweetlies-secrets = {
      description = "Decrypt the Sweet Lies secrets of ${cfg.hostName}";
      wantedBy = [ "multi-user.target" ];
      # Fails (rather than being skipped) without the identity, so that no service starts
      # without its credentials unnoticed.
      unitConfig.AssertPathExists = paths.hostIdentity;
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        UMask = "0077";
        # /run/sweetlies/secrets, removed again when the unit stops.
        RuntimeDirectory = lib.removePrefix "/run/" paths.secretsDir;
        RuntimeDirectoryMode = "0700";
        ExecStart = lib.escapeShellArgs [
          (lib.getExe pkgs.sweetlies-appliance)
          "secrets"
          "decrypt"
          "--identity"
          paths.hostIdentity
          "--out"
          paths.secretsDir
          "${cfg.secretsFile}"
        ];
        # Root (it reads the 0400 identity), but without capabilities, network or other writes.
        CapabilityBoundingSet = "";
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateDevices = true;
        PrivateNetwork = true;
        NoNewPrivileges = true;
        RestrictAddressFamilies = "none";
        SystemCallArchitectures = "native";
      };
    };

    systemd.tmpfiles.rules = [ "d /var/lib/sweetlies 0700 root root - -" ];
  };
}
