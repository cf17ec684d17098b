//! Sealed-sender ("unidentified delivery") server certificates, as Signal-Server's
//! `certificate` command makes them and libsignal's `ServerCertificate` reads them.
//!
//! Wire format (proto2, `ServerCertificate` in Signal-Server's TextSecure.proto):
//! `ServerCertificate { optional bytes certificate = 1; optional bytes signature = 2; }` where
//! `certificate` is `Certificate { optional uint32 id = 1; optional bytes key = 2; }` and
//! `signature` is the trust root's XEdDSA signature over the `certificate` bytes.

use std::fmt;

use crate::curve::{PrivateKey, PublicKey, SIGNATURE_LEN};
use crate::Error;

/// Key ids Signal-Server's `certificate` command refuses (libsignal reserves them for tests;
/// `0xdeadc357` is treated as revoked by every client).
pub const RESERVED_KEY_IDS: [u32; 2] = [0xdeadc357, 0x7357c357];

/// A signed sealed-sender server certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerCertificate {
    key_id: u32,
    key: PublicKey,
    certificate: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
    serialized: Vec<u8>,
}

impl ServerCertificate {
    /// Builds and signs a certificate for `key` under `trust_root`, refusing reserved key ids.
    /// The signature is deterministic (see [`PrivateKey::sign_deterministic`]), so the same
    /// inputs always give the same certificate bytes.
    pub fn issue(key_id: u32, key: &PublicKey, trust_root: &PrivateKey) -> Result<Self, Error> {
        Self::issue_signed(key_id, key, |certificate| trust_root.sign_deterministic(certificate))
    }

    /// Like [`issue`](Self::issue) with caller-supplied XEdDSA randomness (used to reproduce
    /// libsignal test vectors).
    pub fn issue_with_randomness(
        key_id: u32,
        key: &PublicKey,
        trust_root: &PrivateKey,
        random: &[u8; 64],
    ) -> Result<Self, Error> {
        Self::issue_signed(key_id, key, |certificate| {
            trust_root.sign_with_randomness(certificate, random)
        })
    }

    fn issue_signed(
        key_id: u32,
        key: &PublicKey,
        sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
    ) -> Result<Self, Error> {
        Self::check_key_id(key_id)?;
        let certificate = encode_certificate(key_id, key);
        let signature = sign(&certificate);
        let mut serialized = Vec::with_capacity(certificate.len() + SIGNATURE_LEN + 4);
        put_bytes_field(&mut serialized, 1, &certificate);
        put_bytes_field(&mut serialized, 2, &signature);
        Ok(Self { key_id, key: *key, certificate, signature, serialized })
    }

    fn check_key_id(key_id: u32) -> Result<(), Error> {
        if RESERVED_KEY_IDS.contains(&key_id) {
            return Err(Error::ReservedKeyId(key_id));
        }
        Ok(())
    }

    /// Parses the serialized protobuf. Requires every field libsignal requires; the signature is
    /// not checked here (use [`verify`](Self::verify)).
    pub fn deserialize(bytes: &[u8]) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidCertificate(reason.to_owned());
        let mut certificate = None;
        let mut signature = None;
        for field in ProtoFields::new(bytes) {
            match field.map_err(&invalid)? {
                (1, ProtoValue::Bytes(b)) => certificate = Some(b),
                (2, ProtoValue::Bytes(b)) => signature = Some(b),
                _ => {}
            }
        }
        let certificate = certificate.ok_or_else(|| invalid("missing `certificate` field"))?;
        let signature = signature.ok_or_else(|| invalid("missing `signature` field"))?;
        let signature: [u8; SIGNATURE_LEN] = signature.try_into().map_err(|_| {
            invalid(&format!("signature is {} bytes, expected {SIGNATURE_LEN}", signature.len()))
        })?;

        let mut key_id = None;
        let mut key = None;
        for field in ProtoFields::new(certificate) {
            match field.map_err(&invalid)? {
                (1, ProtoValue::Varint(v)) => {
                    key_id = Some(u32::try_from(v).map_err(|_| invalid("key id exceeds 32 bits"))?)
                }
                (2, ProtoValue::Bytes(b)) => key = Some(b),
                _ => {}
            }
        }
        let key_id = key_id.ok_or_else(|| invalid("missing key `id`"))?;
        let key = PublicKey::from_bytes(key.ok_or_else(|| invalid("missing `key`"))?)?;
        Ok(Self {
            key_id,
            key,
            certificate: certificate.to_vec(),
            signature,
            serialized: bytes.to_vec(),
        })
    }

    /// Checks the trust root's signature and that the key id is not reserved/revoked.
    pub fn verify(&self, trust_root: &PublicKey) -> Result<(), Error> {
        Self::check_key_id(self.key_id)?;
        trust_root.verify(self.certificate_bytes(), &self.signature)
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The server's public key the certificate vouches for.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// The signed inner `Certificate` bytes.
    pub fn certificate_bytes(&self) -> &[u8] {
        &self.certificate
    }

    /// The serialized `ServerCertificate` protobuf (`unidentifiedDelivery.certificate`).
    pub fn serialize(&self) -> &[u8] {
        &self.serialized
    }
}

impl fmt::Debug for ServerCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCertificate")
            .field("key_id", &self.key_id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

fn encode_certificate(key_id: u32, key: &PublicKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(42);
    put_varint(&mut out, 1 << 3); // field 1, varint
    put_varint(&mut out, u64::from(key_id));
    put_bytes_field(&mut out, 2, &key.to_bytes());
    out
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

enum ProtoValue<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// A minimal protobuf field reader: enough to parse the two certificate messages and skip
/// unknown fields the way protobuf parsers do.
struct ProtoFields<'a> {
    rest: &'a [u8],
}

impl<'a> ProtoFields<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn varint(&mut self) -> Result<u64, &'static str> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.rest.split_first().ok_or("truncated varint")?;
            self.rest = rest;
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint too long")
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], &'static str> {
        if self.rest.len() < len {
            return Err("truncated field");
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }
}

impl<'a> Iterator for ProtoFields<'a> {
    type Item = Result<(u64, ProtoValue<'a>), &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let field = (|| {
            let key = self.varint()?;
            let value = match key & 7 {
                0 => ProtoValue::Varint(self.varint()?),
                1 => self.take(8).map(|_| ProtoValue::Fixed)?,
                2 => {
                    let len = usize::try_from(self.varint()?).map_err(|_| "length overflow")?;
                    ProtoValue::Bytes(self.take(len)?)
                }
                5 => self.take(4).map(|_| ProtoValue::Fixed)?,
                _ => return Err("unsupported protobuf wire type"),
            };
            Ok((key >> 3, value))
        })();
        if field.is_err() {
            self.rest = &[];
        }
        Some(field)
    }
}
