//! One line of `nix … --log-format internal-json` output: `@nix {json}` or a plain line
//! (builders, the daemon and older tools still write those in between).
//!
//! Activity and result type numbers are those of Nix's `libutil/logging.hh`.

use serde::Deserialize;

pub mod activity {
    pub const COPY_PATH: u64 = 100;
    pub const FILE_TRANSFER: u64 = 101;
    pub const REALISE: u64 = 102;
    pub const COPY_PATHS: u64 = 103;
    pub const BUILDS: u64 = 104;
    pub const BUILD: u64 = 105;
    pub const SUBSTITUTE: u64 = 108;
}

pub mod result {
    pub const BUILD_LOG_LINE: u64 = 101;
    pub const SET_PHASE: u64 = 104;
    pub const PROGRESS: u64 = 105;
    pub const SET_EXPECTED: u64 = 106;
    pub const POST_BUILD_LOG_LINE: u64 = 107;
}

/// Verbosity of a `msg` event; 0 is an error.
pub const LEVEL_ERROR: u64 = 0;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Field {
    Int(u64),
    String(String),
}

impl Field {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            Self::Int(_) => None,
        }
    }

    pub fn as_int(&self) -> Option<u64> {
        match self {
            Self::Int(value) => Some(*value),
            Self::String(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Event {
    Start {
        id: u64,
        #[serde(rename = "type", default)]
        activity: u64,
        #[serde(default)]
        text: String,
        #[serde(default)]
        fields: Vec<Field>,
        #[serde(default)]
        parent: u64,
    },
    Stop {
        id: u64,
    },
    Result {
        id: u64,
        #[serde(rename = "type")]
        result: u64,
        #[serde(default)]
        fields: Vec<Field>,
    },
    Msg {
        level: u64,
        msg: String,
    },
    /// Newer actions (e.g. `setPhase` variants) we do not need.
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Event(Event),
    /// Not an `@nix` line: a builder's or the daemon's plain output.
    Plain(String),
    /// An `@nix` line whose JSON did not parse; kept as text so nothing is lost.
    Malformed(String),
}

pub fn parse_line(line: &str) -> Line {
    let line = line.trim_end_matches(['\r', '\n']);
    match line.strip_prefix("@nix ") {
        Some(json) => match serde_json::from_str(json) {
            Ok(event) => Line::Event(event),
            Err(_) => Line::Malformed(line.to_string()),
        },
        None => Line::Plain(line.to_string()),
    }
}

/// Removes terminal colour sequences (`ESC [ … letter`) that Nix puts into messages.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(character) = chars.next() {
        if character == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for code in chars.by_ref() {
                if code.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(character);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_action() {
        let start = parse_line(
            r#"@nix {"action":"start","fields":["/nix/store/abc-hello-2.12.drv","",1,1],"id":7,"level":3,"parent":2,"text":"building '/nix/store/abc-hello-2.12.drv'","type":105}"#,
        );
        assert_eq!(
            start,
            Line::Event(Event::Start {
                id: 7,
                activity: activity::BUILD,
                text: "building '/nix/store/abc-hello-2.12.drv'".into(),
                fields: vec![
                    Field::String("/nix/store/abc-hello-2.12.drv".into()),
                    Field::String(String::new()),
                    Field::Int(1),
                    Field::Int(1)
                ],
                parent: 2,
            })
        );
        assert_eq!(
            parse_line(r#"@nix {"action":"stop","id":7}"#),
            Line::Event(Event::Stop { id: 7 })
        );
        assert_eq!(
            parse_line(r#"@nix {"action":"result","fields":[3,10,1,0],"id":2,"type":105}"#),
            Line::Event(Event::Result {
                id: 2,
                result: result::PROGRESS,
                fields: vec![Field::Int(3), Field::Int(10), Field::Int(1), Field::Int(0)]
            })
        );
        assert_eq!(
            parse_line(r#"@nix {"action":"msg","level":0,"msg":"error: boom","raw_msg":"boom"}"#),
            Line::Event(Event::Msg {
                level: 0,
                msg: "error: boom".into()
            })
        );
        assert_eq!(
            parse_line(r#"@nix {"action":"setFuture","id":1}"#),
            Line::Event(Event::Unknown)
        );
    }

    #[test]
    fn plain_and_malformed_lines_are_kept() {
        assert_eq!(
            parse_line("warning: Git tree is dirty\n"),
            Line::Plain("warning: Git tree is dirty".into())
        );
        assert_eq!(
            parse_line("@nix {not json"),
            Line::Malformed("@nix {not json".into())
        );
    }

    #[test]
    fn colour_codes_are_stripped() {
        assert_eq!(
            strip_ansi(
                "\u{1b}[31;1merror:\u{1b}[0m builder for '\u{1b}[35;1m/nix/store/x.drv\u{1b}[0m'"
            ),
            "error: builder for '/nix/store/x.drv'"
        );
    }
}
