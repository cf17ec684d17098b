//! The base64 flavours the server, its secrets bundle and the clients read.
//!
//! Everything here is standard base64 (`+`, `/`) with `=` padding: Signal-Server reads config
//! `byte[]` values through Jackson, whose default variant requires the padding, and secrets
//! through `java.util.Base64.getDecoder()`, which accepts it. The clients' own values are
//! padded standard base64 too (see the README for the sources checked).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

pub(crate) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Accepts padded or unpadded standard base64 (Java's decoder does both, and Signal-Server's
/// `zkparams` command prints unpadded).
pub(crate) fn b64_decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let text = text.trim();
    STANDARD.decode(text).or_else(|_| STANDARD_NO_PAD.decode(text.trim_end_matches('=')))
}
