use thiserror::Error;

/// Everything that can go wrong when building, parsing or checking key material.
///
/// Messages name the offending item and, where it helps, what to do about it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    #[error("{what}: expected {expected} bytes, got {actual}")]
    InvalidLength { what: &'static str, expected: usize, actual: usize },

    #[error("public key: missing the key type byte (expected 0x05 followed by 32 bytes)")]
    MissingKeyType,

    #[error("public key: bad key type byte 0x{found:02x} (Signal Curve25519 keys start with 0x05)")]
    BadKeyType { found: u8 },

    #[error("XEdDSA signature does not verify under the given public key")]
    BadSignature,

    #[error(
        "sealed-sender key id {0:#010x} is reserved or revoked by Signal-Server/libsignal; pick another key id"
    )]
    ReservedKeyId(u32),

    #[error("server certificate: {0}")]
    InvalidCertificate(String),

    #[error("{what}: {reason}")]
    InvalidParams { what: &'static str, reason: String },

    #[error("secrets bundle is missing `{0}`; regenerate the organisation's secrets or restore the entry")]
    MissingBundleEntry(&'static str),

    #[error("the public key set does not belong to these secrets: {0}")]
    PublicMismatch(&'static str),

    #[error("secrets bundle entry `{key}` is invalid: {reason}")]
    InvalidBundleEntry { key: &'static str, reason: String },
}
