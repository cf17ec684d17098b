{
  description = "Sweet Lies: a private, sovereign Signal network built reproducibly from Signal's open source";

  inputs = {
    # Stable NixOS; the exact revision is in flake.lock (and modules/lib/flake-pins.nix).
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
    # Upstream sources are plain trees, patched by our own series in patches/<upstream>/.
    signal-server = {
      url = "github:signalapp/Signal-Server/v20260820.3.0";
      flake = false;
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      signal-server,
    }:
    let
      inherit (nixpkgs) lib;
      pins = import ./modules/lib/flake-pins.nix;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems =
        f: lib.genAttrs systems (system: f (nixpkgs.legacyPackages.${system}.extend self.overlays.default));
      hosts = import ./modules/lib/hosts.nix {
        hostsDir = ./hosts;
        inherit self;
      };
    in
    {
      overlays.default = final: _prev: {
        sweetlies-server = final.callPackage ./pkgs/signal-server/package.nix {
          src = signal-server;
          inherit pins;
        };
        sweetlies-dynamo = final.callPackage ./pkgs/sweetlies-dynamo/package.nix { };
        sweetlies-appliance = final.callPackage ./pkgs/sweetlies-appliance/package.nix { };
      };

      packages = forAllSystems (pkgs: {
        server = pkgs.sweetlies-server;
        inherit (pkgs) sweetlies-appliance sweetlies-dynamo;
        default = pkgs.sweetlies-appliance;
      });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = lib.getExe pkgs.sweetlies-appliance;
          meta.description = pkgs.sweetlies-appliance.meta.description;
        };
      });

      nixosModules.default = {
        imports = [ ./modules/default.nix ];
        nixpkgs.overlays = [ self.overlays.default ];
      };

      # One system per host found in hosts/<org>/default.nix (docs/org-spec.md).
      nixosConfigurations = lib.mapAttrs (
        name: host:
        lib.nixosSystem {
          modules = [
            {
              # A host entry may set another platform (e.g. aarch64-linux) in its module.
              nixpkgs.hostPlatform = lib.mkDefault "x86_64-linux";
              networking.hostName = lib.mkDefault name;
            }
            host.module
          ];
        }
      ) hosts;

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [
            cargo
            rustc
            clippy
            rustfmt
            rust-analyzer
            postgresql
            nix
            nixfmt
            deadnix
            age
          ];
        };
      });

      checks = forAllSystems (
        pkgs:
        import ./checks/default.nix {
          inherit pkgs self signal-server;
        }
      );

      formatter = forAllSystems (pkgs: pkgs.nixfmt-tree);
    };
}
