//! libsignal-exact server key material for a private Signal network.
#![forbid(unsafe_code)]
