//! One module per subcommand (colmena's `src/command/` layout): each has a clap `Args`
//! struct and a `run` function.

pub mod build;
pub mod flash;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build hosts' disk images with nix; write their sha256 and block map.
    Build(build::BuildArgs),
    /// Write an image to a disk or file, verify it, and seed the host identity.
    Flash(flash::FlashArgs),
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Build(args) => build::run(args),
        Command::Flash(args) => flash::run(args),
    }
}
