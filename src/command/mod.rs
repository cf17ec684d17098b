//! One module per subcommand (colmena's `src/command/` layout): each has a clap `Args`
//! struct and a `run` function.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {}
}
