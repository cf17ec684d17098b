# A raw EFI disk image per host, built with nixpkgs' systemd-repart image machinery
# (nixos/modules/image/repart.nix, exposed as an image variant through image.modules →
# system.build.images.sweetlies), plus the first-boot import of the host identity.
#
# Layout (GPT):
#   10-esp   vfat  "ESP"        systemd-boot + the unified kernel image
#   20-seed  vfat  "SWEETSEED"  empty in the image; `sweetlies-appliance flash --org --host`
#                               writes host.agekey into it after flashing
#   30-root  ext4  "nixos"      the system closure; grown to the disk at first boot
#
# Determinism: repart's --seed (image.repart.seed, here derived from the host name) fixes
# partition and filesystem UUIDs; stdenv sets SOURCE_DATE_EPOCH for the build, which repart
# and mkfs use for timestamps. No secret is ever in the image: the seed partition is empty.
{
  config,
  lib,
  pkgs,
  modulesPath,
  ...
}:
let
  cfg = config.services.sweetlies;
  imageCfg = cfg.image;
  efiArch = pkgs.stdenv.hostPlatform.efiArch;
  seedLabel = "SWEETSEED";
  identityPath = cfg.topology.paths.hostIdentity;
  identityDir = dirOf identityPath;

  # A stable UUID per host, so two builds of the same host give the same image.
  hostSeed =
    let
      hash = builtins.hashString "sha256" "sweetlies-image-${cfg.hostName}";
      part = start: length: builtins.substring start length hash;
    in
    "${part 0 8}-${part 8 4}-4${part 13 3}-8${part 17 3}-${part 20 12}";

  imageName = "sweetlies-${cfg.hostName}";

  importSeed = pkgs.writeShellApplication {
    name = "sweetlies-seed-import";
    runtimeInputs = [
      pkgs.age
      pkgs.coreutils
      pkgs.mtools
      pkgs.util-linux
    ];
    text = ''
      device=/dev/disk/by-partlabel/${seedLabel}
      [ -e "$device" ] || device=/dev/disk/by-label/${seedLabel}
      if [ ! -e "$device" ]; then
        echo "no ${seedLabel} partition and no ${identityPath}: flash this disk with" >&2
        echo "'sweetlies-appliance flash <image> <device> --org <org> --host ${cfg.hostName}'" >&2
        exit 1
      fi
      install -d -m 0700 ${identityDir}
      staged=$(mktemp ${identityDir}/.host.agekey.XXXXXX)
      trap 'rm -f "$staged"' EXIT
      if ! MTOOLS_SKIP_CHECK=1 mtype -i "$device" ::host.agekey > "$staged"; then
        echo "the ${seedLabel} partition holds no host.agekey: flash again with --org/--host" >&2
        exit 1
      fi
      # age-keygen -y parses the identity (and derives its recipient): a truncated or corrupt
      # file is refused here, not at the first decryption.
      if ! age-keygen -y "$staged" >/dev/null; then
        echo "host.agekey on ${seedLabel} is not an age identity" >&2
        exit 1
      fi
      chmod 0400 "$staged"
      sync "$staged"
      mv "$staged" ${identityPath}
      sync ${identityDir}
      trap - EXIT
      # The identity now lives only in ${identityPath}: zero the whole seed partition, then
      # discard it so that flash storage can drop the old blocks too.
      size=$(blockdev --getsize64 "$device")
      head -c "$size" /dev/zero > "$device"
      sync "$device"
      blkdiscard "$device" 2>/dev/null || true
      echo "imported the host identity into ${identityPath} and wiped ${seedLabel}"
    '';
  };
in
{
  options.services.sweetlies.image = {
    enable = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Build system.build.images.sweetlies and import the host identity from the seed partition at first boot.";
    };
    espSize = lib.mkOption {
      type = lib.types.str;
      default = "256M";
      description = "Size of the EFI system partition (holds the unified kernel image).";
    };
    seedSize = lib.mkOption {
      type = lib.types.str;
      default = "8M";
      description = "Size of the FAT seed partition that carries host.agekey from flashing to first boot.";
    };
  };

  config = lib.mkIf (cfg.enable && imageCfg.enable) {
    image.modules.sweetlies =
      { config, ... }:
      {
        imports = [ "${modulesPath}/image/repart.nix" ];
        image.baseName = imageName;
        image.extension = "raw";
        image.repart = {
          name = imageName;
          version = null;
          seed = hostSeed;
          sectorSize = 512;
          partitions = {
            "10-esp" = {
              contents = {
                "/EFI/BOOT/BOOT${lib.toUpper efiArch}.EFI".source =
                  "${config.systemd.package}/lib/systemd/boot/efi/systemd-boot${efiArch}.efi";
                "/EFI/Linux/${config.system.boot.loader.ukiFile}".source =
                  "${config.system.build.uki}/${config.system.boot.loader.ukiFile}";
              };
              repartConfig = {
                Type = "esp";
                Format = "vfat";
                Label = "ESP";
                SizeMinBytes = imageCfg.espSize;
                SizeMaxBytes = imageCfg.espSize;
              };
            };
            "20-seed" = {
              repartConfig = {
                Type = "linux-generic";
                Format = "vfat";
                Label = seedLabel;
                SizeMinBytes = imageCfg.seedSize;
                SizeMaxBytes = imageCfg.seedSize;
              };
            };
            "30-root" = {
              storePaths = [ config.system.build.toplevel ];
              repartConfig = {
                Type = "root";
                Format = "ext4";
                Label = "nixos";
                Minimize = "guess";
              };
            };
          };
        };
      };

    # qcow2 for VMs: the same raw image, converted.
    system.build.sweetliesImageQcow2 =
      let
        raw = config.system.build.images.sweetlies;
      in
      pkgs.runCommand "${imageName}-qcow2" { nativeBuildInputs = [ pkgs.qemu-utils ]; } ''
        mkdir -p $out
        qemu-img convert -f raw -O qcow2 ${raw}/${raw.passthru.filePath} $out/${imageName}.qcow2
      '';

    boot.loader.grub.enable = lib.mkDefault false;
    fileSystems."/" = lib.mkDefault {
      device = "/dev/disk/by-partlabel/nixos";
      fsType = "ext4";
      autoResize = true;
    };
    fileSystems."/boot" = lib.mkDefault {
      device = "/dev/disk/by-partlabel/ESP";
      fsType = "vfat";
      options = [ "umask=0077" ];
    };
    # Grow the root partition to the disk at first boot (the image is minimal).
    boot.initrd.systemd.enable = lib.mkDefault true;
    boot.initrd.systemd.repart.enable = lib.mkDefault true;
    systemd.repart.partitions."30-root".Type = "root";

    systemd.services.sweetlies-seed-import = {
      description = "Import the host identity from the ${seedLabel} partition, then wipe it";
      wantedBy = [ "multi-user.target" ];
      requiredBy = [ "sweetlies-secrets.service" ];
      before = [ "sweetlies-secrets.service" ];
      unitConfig.ConditionPathExists = "!${identityPath}";
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        UMask = "0077";
        ExecStart = lib.getExe importSeed;
      };
    };
  };
}
