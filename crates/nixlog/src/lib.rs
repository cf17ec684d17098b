//! Runs `nix` with `--log-format internal-json -v` and makes sense of its `@nix {…}` events:
//! [`event`] parses lines, [`state`] folds them into build/download progress and failure
//! details, [`run`] drives `nix build` and reports failures with the failed derivation's last
//! log lines, [`progress`] draws it with indicatif.

pub mod event;
pub mod progress;
pub mod run;
pub mod state;

pub use event::{parse_line, Event, Line};
pub use progress::BuildProgress;
pub use run::{run_logged, shell_words, NixBuild, NixError};
pub use state::BuildState;
