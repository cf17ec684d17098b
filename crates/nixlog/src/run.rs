//! Runs `nix build` with machine-readable logs, feeds every line to a [`BuildState`] and an
//! observer (the progress display), and turns a failure into an error that names the failed
//! command, the failed derivation and its last log lines.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;

use crate::event::parse_line;
use crate::state::{BuildState, derivation_name};

#[derive(Debug, thiserror::Error)]
pub enum NixError {
    #[error(
        "cannot run `{program}`: {cause}; install Nix 2.18 or newer (flakes support), or set the path to nix"
    )]
    Spawn {
        program: String,
        cause: std::io::Error,
    },
    #[error("reading nix's output failed: {0}")]
    Output(std::io::Error),
    #[error("{}", failure_message(.command, .status, .errors, .derivation, .log))]
    Failed {
        command: String,
        status: ExitStatus,
        errors: Vec<String>,
        derivation: Option<String>,
        log: Vec<String>,
    },
    #[error("`{command}` succeeded but printed no output path")]
    NoOutput { command: String },
}

fn failure_message(
    command: &str,
    status: &ExitStatus,
    errors: &[String],
    derivation: &Option<String>,
    log: &[String],
) -> String {
    let mut message = format!("`{command}` failed ({status})");
    for error in errors {
        message.push_str("\n  ");
        message.push_str(&error.replace('\n', "\n  "));
    }
    if !log.is_empty() {
        match derivation {
            Some(derivation) => message.push_str(&format!(
                "\nlast log lines of {}:",
                derivation_name(derivation)
            )),
            None => message.push_str("\nlast output lines:"),
        }
        for line in log {
            message.push_str("\n  | ");
            message.push_str(line);
        }
    }
    if let Some(derivation) = derivation {
        message.push_str(&format!("\nfull log: nix log {derivation}"));
    }
    message
}

/// `nix build` of one installable with the flags this crate relies on.
#[derive(Debug, Clone)]
pub struct NixBuild {
    pub nix: PathBuf,
    pub installable: String,
    /// Where to put the result symlink (a GC root); `None` for `--no-link`.
    pub out_link: Option<PathBuf>,
    /// Extra arguments, e.g. `--option substituters ''`.
    pub extra_args: Vec<OsString>,
}

impl NixBuild {
    pub fn new(installable: impl Into<String>) -> Self {
        Self {
            nix: PathBuf::from("nix"),
            installable: installable.into(),
            out_link: None,
            extra_args: Vec::new(),
        }
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.nix);
        command
            .arg("build")
            .args(["--extra-experimental-features", "nix-command flakes"])
            .args(["--log-format", "internal-json", "-v"])
            .arg("--print-out-paths");
        match &self.out_link {
            Some(link) => {
                command.arg("--out-link").arg(link);
            }
            None => {
                command.arg("--no-link");
            }
        }
        command.args(&self.extra_args).arg(&self.installable);
        command
    }

    /// Builds and returns the output paths `--print-out-paths` printed.
    pub fn run(&self, observe: &mut dyn FnMut(&BuildState)) -> Result<Vec<PathBuf>, NixError> {
        let mut command = self.command();
        let stdout = run_logged(&mut command, observe)?;
        let paths: Vec<PathBuf> = stdout
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(PathBuf::from)
            .collect();
        if paths.is_empty() {
            return Err(NixError::NoOutput { command: shell_words(&command) });
        }
        Ok(paths)
    }
}

/// Runs a nix command that logs `internal-json` on stderr; returns its stdout on success.
pub fn run_logged(
    command: &mut Command,
    observe: &mut dyn FnMut(&BuildState),
) -> Result<String, NixError> {
    let shown = shell_words(command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|cause| NixError::Spawn {
            program: command.get_program().to_string_lossy().into_owned(),
            cause,
        })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let stdout_reader = thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let mut state = BuildState::default();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
    let mut line = Vec::new();
    loop {
        line.clear();
        if stderr
            .read_until(b'\n', &mut line)
            .map_err(NixError::Output)?
            == 0
        {
            break;
        }
        state.apply(parse_line(&String::from_utf8_lossy(&line)));
        observe(&state);
    }
    let status = child.wait().map_err(NixError::Output)?;
    let stdout = stdout_reader
        .join()
        .expect("stdout reader does not panic")
        .map_err(NixError::Output)?;
    if !status.success() {
        return Err(NixError::Failed {
            command: shown,
            status,
            errors: state.errors.clone(),
            derivation: state.failed_derivation(),
            log: state.failure_log(),
        });
    }
    Ok(stdout)
}

/// The command as one could paste it into a shell.
pub fn shell_words(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| {
            let word = word.to_string_lossy();
            if !word.is_empty()
                && word.chars().all(|character| {
                    character.is_ascii_alphanumeric() || "-_./:=#@+,".contains(character)
                })
            {
                word.into_owned()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_command_has_the_required_flags() {
        let mut build = NixBuild::new(".#nixosConfigurations.acme-1.config.system.build.image");
        build.out_link = Some(PathBuf::from("images/acme-1.result"));
        assert_eq!(
            shell_words(&build.command()),
            "nix build --extra-experimental-features 'nix-command flakes' --log-format internal-json -v --print-out-paths \
             --out-link images/acme-1.result .#nixosConfigurations.acme-1.config.system.build.image"
        );
    }
}
