//! `sweetlies-appliance secrets …`: what a host runs at boot to unpack its secrets.

use crate::identity::read_identity_file;
use crate::secrets_file::SecretsFile;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Decrypt a host's secrets file into a directory (files 0600, written atomically).
    Decrypt(DecryptArgs),
}

#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// age identity file (must not be accessible by other users).
    #[arg(long)]
    pub identity: PathBuf,
    /// Directory to write the files into (created 0700 if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// The secrets file, hosts/<org>/secrets/<host>.age.
    pub file: PathBuf,
}

pub fn run(command: SecretsCommand) -> Result<()> {
    match command {
        SecretsCommand::Decrypt(args) => decrypt(&args),
    }
}

fn decrypt(args: &DecryptArgs) -> Result<()> {
    let identity = read_identity_file(&args.identity)?;
    let ciphertext = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let secrets = SecretsFile::decrypt(&ciphertext, &identity)
        .with_context(|| format!("cannot decrypt {}", args.file.display()))?;
    crate::fsutil::create_dir_all_mode(&args.out, 0o700)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    secrets.write_to_dir(&args.out)?;
    eprintln!(
        "wrote {} files to {}",
        secrets.files.len(),
        args.out.display()
    );
    Ok(())
}
