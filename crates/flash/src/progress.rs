//! Progress of the write and read-back phases: a small trait so the engine stays testable,
//! and an indicatif implementation with speed and ETA for the CLI.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub trait ProgressSink: Sync {
    /// A phase ("writing", "verifying") over `total` bytes starts.
    fn begin(&self, phase: &str, total: u64);
    fn advance(&self, bytes: u64);
    fn end(&self);
}

/// Reports nothing (tests, `--quiet`).
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn begin(&self, _phase: &str, _total: u64) {}
    fn advance(&self, _bytes: u64) {}
    fn end(&self) {}
}

/// One bar per phase on stderr; hidden when stderr is not a terminal.
#[derive(Default)]
pub struct TerminalProgress {
    bar: Mutex<Option<ProgressBar>>,
}

impl ProgressSink for TerminalProgress {
    fn begin(&self, phase: &str, total: u64) {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>9} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .expect("template is valid")
            .progress_chars("=> "),
        );
        bar.set_prefix(phase.to_string());
        *self.bar.lock().expect("progress lock") = Some(bar);
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = self.bar.lock().expect("progress lock").as_ref() {
            bar.inc(bytes);
        }
    }

    fn end(&self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").take() {
            bar.finish();
        }
    }
}
