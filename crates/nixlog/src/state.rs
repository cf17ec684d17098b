//! Folds the event stream into what the operator wants to see: builds done/expected,
//! downloads, what is being built right now, and, when something fails, the error messages
//! and the last log lines of the derivation that failed.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::event::{Event, Field, LEVEL_ERROR, Line, activity, result, strip_ansi};

/// Log lines kept per build and of plain output, for error reports.
pub const TAIL_LINES: usize = 25;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub done: u64,
    pub expected: u64,
    pub running: u64,
    pub failed: u64,
}

/// A running activity; Nix sends no results for an activity after stopping it, so stopped ones
/// are dropped.
#[derive(Debug, Clone)]
struct Activity {
    kind: u64,
    /// For builds, the derivation; for substitutions/copies, the store path.
    subject: Option<String>,
    /// For file transfers, the bytes received so far.
    bytes_done: u64,
}

#[derive(Debug, Default)]
pub struct BuildState {
    /// Running activities by id, which is start order within one Nix process.
    activities: BTreeMap<u64, Activity>,
    pub builds: Counts,
    /// Store paths fetched from substituters (CopyPaths progress).
    pub downloads: Counts,
    /// Total download size announced with SetExpected(FileTransfer).
    pub download_bytes_expected: u64,
    /// Bytes received over all file transfers, running and stopped.
    download_bytes_done: u64,
    /// Build log tails by derivation path; kept after the build stops so a failure can show it.
    build_logs: HashMap<String, VecDeque<String>>,
    /// Plain lines and non-error messages, for failures that name no derivation.
    other_log: VecDeque<String>,
    pub errors: Vec<String>,
    /// Current phase (configure, build, …) per derivation, from SetPhase.
    phases: HashMap<String, String>,
}

impl BuildState {
    pub fn apply(&mut self, line: Line) {
        match line {
            Line::Plain(text) | Line::Malformed(text) => {
                push_tail(&mut self.other_log, strip_ansi(&text))
            }
            Line::Event(event) => self.apply_event(event),
        }
    }

    fn apply_event(&mut self, event: Event) {
        match event {
            Event::Start {
                id,
                activity: kind,
                fields,
                ..
            } => {
                let subject = fields.first().and_then(Field::as_str).map(str::to_string);
                self.activities.insert(
                    id,
                    Activity {
                        kind,
                        subject,
                        bytes_done: 0,
                    },
                );
            }
            Event::Stop { id } => {
                self.activities.remove(&id);
            }
            Event::Result {
                id,
                result: kind,
                fields,
            } => self.apply_result(id, kind, &fields),
            Event::Msg { level, msg } => {
                let message = strip_ansi(&msg);
                if level == LEVEL_ERROR {
                    self.errors.push(message);
                } else {
                    push_tail(&mut self.other_log, message);
                }
            }
            Event::Unknown => {}
        }
    }

    fn apply_result(&mut self, id: u64, kind: u64, fields: &[Field]) {
        let int = |index: usize| fields.get(index).and_then(Field::as_int).unwrap_or(0);
        let Some(activity) = self.activities.get_mut(&id) else {
            return;
        };
        match kind {
            result::BUILD_LOG_LINE | result::POST_BUILD_LOG_LINE => {
                if let (Some(derivation), Some(line)) =
                    (&activity.subject, fields.first().and_then(Field::as_str))
                {
                    push_tail(
                        self.build_logs.entry(derivation.clone()).or_default(),
                        strip_ansi(line),
                    );
                }
            }
            result::SET_PHASE => {
                if let (Some(derivation), Some(phase)) =
                    (&activity.subject, fields.first().and_then(Field::as_str))
                {
                    self.phases.insert(derivation.clone(), phase.to_string());
                }
            }
            result::PROGRESS => {
                let counts = Counts {
                    done: int(0),
                    expected: int(1),
                    running: int(2),
                    failed: int(3),
                };
                match activity.kind {
                    activity::BUILDS => self.builds = counts,
                    activity::COPY_PATHS => self.downloads = counts,
                    activity::FILE_TRANSFER => {
                        self.download_bytes_done =
                            self.download_bytes_done - activity.bytes_done + counts.done;
                        activity.bytes_done = counts.done;
                    }
                    _ => {}
                }
            }
            result::SET_EXPECTED => match int(0) {
                activity::BUILD => self.builds.expected = self.builds.expected.max(int(1)),
                activity::COPY_PATH => {
                    self.downloads.expected = self.downloads.expected.max(int(1))
                }
                activity::FILE_TRANSFER => {
                    self.download_bytes_expected = self.download_bytes_expected.max(int(1))
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// Bytes received so far over all file transfers.
    pub fn download_bytes_done(&self) -> u64 {
        self.download_bytes_done
    }

    /// Names (`hello-2.12`) of the derivations being built now, oldest first.
    pub fn current_builds(&self) -> Vec<String> {
        self.running(activity::BUILD).map(derivation_name).collect()
    }

    /// Store paths being substituted now.
    pub fn current_downloads(&self) -> Vec<String> {
        self.running(activity::SUBSTITUTE)
            .map(derivation_name)
            .collect()
    }

    /// Subjects of the running activities of one kind, oldest first.
    fn running(&self, kind: u64) -> impl DoubleEndedIterator<Item = &str> {
        self.activities
            .values()
            .filter(move |activity| activity.kind == kind)
            .filter_map(|activity| activity.subject.as_deref())
    }

    pub fn phase_of(&self, derivation: &str) -> Option<&str> {
        self.phases.get(derivation).map(String::as_str)
    }

    /// A one-line summary for the progress display.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!(
            "builds {}/{}",
            self.builds.done, self.builds.expected
        )];
        if self.downloads.expected > 0 || self.download_bytes_expected > 0 {
            parts.push(format!(
                "downloads {}/{} ({} MiB)",
                self.downloads.done,
                self.downloads.expected,
                self.download_bytes_done() >> 20
            ));
        }
        if let Some(derivation) = self.running(activity::BUILD).next_back() {
            let phase = self
                .phase_of(derivation)
                .map(|phase| format!(" ({phase})"))
                .unwrap_or_default();
            parts.push(format!("building {}{phase}", derivation_name(derivation)));
        } else if let Some(path) = self.current_downloads().first() {
            parts.push(format!("fetching {path}"));
        }
        parts.join(" · ")
    }

    /// The derivation a failure names: the first `/nix/store/…drv` in an error message
    /// ("builder for '…drv' failed", "Cannot build '…drv'").
    pub fn failed_derivation(&self) -> Option<String> {
        self.errors.iter().find_map(|error| find_derivation(error))
    }

    /// The last log lines of the failed derivation, or of plain output if none is known.
    pub fn failure_log(&self) -> Vec<String> {
        let lines = self
            .failed_derivation()
            .and_then(|derivation| self.build_logs.get(&derivation))
            .unwrap_or(&self.other_log);
        lines.iter().cloned().collect()
    }
}

fn push_tail(lines: &mut VecDeque<String>, line: String) {
    if lines.len() == TAIL_LINES {
        lines.pop_front();
    }
    lines.push_back(line);
}

fn find_derivation(text: &str) -> Option<String> {
    let start = text.find("/nix/store/")?;
    let rest = &text[start..];
    let end = rest.find(".drv")? + ".drv".len();
    let candidate = &rest[..end];
    (!candidate.contains(char::is_whitespace) && !candidate.contains('\''))
        .then(|| candidate.to_string())
}

/// `/nix/store/<hash>-hello-2.12.drv` → `hello-2.12`.
pub fn derivation_name(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let base = base.strip_suffix(".drv").unwrap_or(base);
    match base.split_once('-') {
        Some((hash, name)) if hash.len() == 32 => name.to_string(),
        _ => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_names_drop_hash_and_suffix() {
        assert_eq!(
            derivation_name("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-2.12.drv"),
            "hello-2.12"
        );
        assert_eq!(derivation_name("short-name"), "short-name");
    }

    #[test]
    fn finds_the_derivation_in_error_messages() {
        assert_eq!(
            find_derivation("error: builder for '/nix/store/abc-x.drv' failed with exit code 2;")
                .as_deref(),
            Some("/nix/store/abc-x.drv")
        );
        assert_eq!(
            find_derivation("error: Cannot build '/nix/store/abc-y.drv'.").as_deref(),
            Some("/nix/store/abc-y.drv")
        );
        assert_eq!(find_derivation("error: flake has no attribute"), None);
    }
}
