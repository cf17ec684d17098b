//! libsignal-exact server key material for a private Signal network, in pure Rust.
//!
//! Byte-compatible with libsignal v0.101.0 (the version Signal-Server v20260820.3.0 pins):
//! Curve25519 keys in Signal's encoding and XEdDSA ([`curve`]), sealed-sender server
//! certificates ([`sealed_sender`]), zkgroup server params ([`zkparams`]), and one entry point
//! that makes an organisation's whole key set ([`OrgKeys`]).
#![forbid(unsafe_code)]

pub mod curve;
mod encoding;
mod error;
pub mod org;
pub mod sealed_sender;
mod sho;
pub mod zkparams;

/// The `rand_core` (0.6) whose traits [`OrgKeys::generate`] takes; `rand_core::OsRng` is the
/// operating system's CSPRNG.
pub use rand_core;

pub use curve::{PrivateKey, PublicKey};
pub use error::Error;
pub use org::{OrgKeys, OrgPublicKeys, OrgSecretKeys, ServerSecretKeys};
pub use sealed_sender::ServerCertificate;
pub use zkparams::{
    CredentialMode, GenericServerPublicParams, GenericServerSecretParams, ServerPublicParams,
    ServerSecretParams,
};
