//! Runs `nix` with `--log-format internal-json -v` and makes sense of its `@nix {…}` events:
//! [`event`] parses lines, [`state`] folds them into build/download progress and failure
//! details, [`run`] drives `nix build` and reports failures with the failed derivation's last
//! log lines, [`progress`] draws it with indicatif.

pub mod event;
pub mod progress;
pub mod run;
pub mod state;

pub use event::{Event, Line, parse_line};
pub use progress::BuildProgress;
pub use run::{NixBuild, NixError, run_logged, shell_words};
pub use state::BuildState;
