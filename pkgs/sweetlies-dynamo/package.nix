{ lib, rustPlatform }:
import ../rust-workspace.nix { inherit lib rustPlatform; } {
  pname = "sweetlies-dynamo";
  manifest = ../../crates/dynamo/Cargo.toml;
  description = "DynamoDB-compatible server storing data in PostgreSQL";
}
