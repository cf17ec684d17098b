//! One module per subcommand (colmena's `src/command/` layout): each has a clap `Args`
//! struct and a `run` function.

pub mod build;
pub mod check;
pub mod flash;
pub mod new;
pub mod secrets;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new org: hosts/<org>/ (spec, public keys, encrypted secrets) and its identities.
    New(new::NewArgs),
    /// Validate hosts/<org>/: schema, secrets decrypt, public keys match secrets.
    Check(check::CheckArgs),
    /// Work with secrets files.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Build hosts' disk images with nix; write their sha256 and block map.
    Build(build::BuildArgs),
    /// Write an image to a disk or file, verify it, and seed the host identity.
    Flash(flash::FlashArgs),
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::New(args) => new::run(args),
        Command::Check(args) => check::run(args),
        Command::Secrets(command) => secrets::run(command),
        Command::Build(args) => build::run(args),
        Command::Flash(args) => flash::run(args),
    }
}
