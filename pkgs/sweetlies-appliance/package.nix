{ lib, rustPlatform }:
import ../rust-workspace.nix { inherit lib rustPlatform; } {
  pname = "sweetlies-appliance";
  manifest = ../../Cargo.toml;
  description = "Operator CLI for a private, sovereign Signal network";
}
