//! Shows a [`BuildState`] as an indicatif bar: builds done/expected, downloads, and the
//! derivation being built. Hidden when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::state::BuildState;

pub struct BuildProgress {
    bar: ProgressBar,
}

impl BuildProgress {
    pub fn new(title: &str) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} [{bar:20}] {pos}/{len} {wide_msg}")
                .expect("template is valid")
                .progress_chars("=> "),
        );
        bar.set_prefix(title.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Self { bar }
    }

    pub fn update(&self, state: &BuildState) {
        self.bar
            .set_length(state.builds.expected.max(state.builds.done));
        self.bar.set_position(state.builds.done);
        self.bar.set_message(state.summary());
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
