//! Curve25519 keys in Signal's encoding and XEdDSA signatures, as libsignal-core does them.

use std::fmt;

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::{Scalar, clamp_integer};
use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::Error;

/// The type byte Signal puts in front of a Curve25519 public key ("DJB" type).
pub const DJB_KEY_TYPE: u8 = 0x05;
/// Length of a serialized private key.
pub const PRIVATE_KEY_LEN: usize = 32;
/// Length of a serialized public key, type byte included.
pub const PUBLIC_KEY_LEN: usize = 33;
/// Length of an XEdDSA signature.
pub const SIGNATURE_LEN: usize = 64;

/// Domain separation for [`PrivateKey::sign_deterministic`].
const DETERMINISTIC_NONCE_LABEL: &[u8] = b"sweetlies signal-keys XEdDSA deterministic randomness v1";

/// A Curve25519 private key: 32 bytes, clamped exactly as libsignal clamps them.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PrivateKey([u8; PRIVATE_KEY_LEN]);

impl PrivateKey {
    /// A fresh key from a CSPRNG (libsignal's `PrivateKey::new`: 32 random bytes, clamped).
    pub fn generate<R: CryptoRng + RngCore>(rng: &mut R) -> Self {
        let mut bytes = Zeroizing::new([0u8; PRIVATE_KEY_LEN]);
        rng.fill_bytes(bytes.as_mut());
        Self(clamp_integer(*bytes))
    }

    /// Parses a serialized private key (exactly 32 bytes). Like libsignal, the bytes are clamped.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let key: [u8; PRIVATE_KEY_LEN] = bytes.try_into().map_err(|_| Error::InvalidLength {
            what: "Curve25519 private key",
            expected: PRIVATE_KEY_LEN,
            actual: bytes.len(),
        })?;
        Ok(Self(clamp_integer(key)))
    }

    /// The serialized form (what `ECPrivateKey.serialize()` returns).
    pub fn to_bytes(&self) -> Zeroizing<[u8; PRIVATE_KEY_LEN]> {
        Zeroizing::new(self.0)
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(MontgomeryPoint::mul_base_clamped(self.0).to_bytes())
    }

    /// XEdDSA signature with 64 bytes of fresh randomness, as libsignal's `calculate_signature`.
    pub fn sign<R: CryptoRng + RngCore>(&self, rng: &mut R, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut random = Zeroizing::new([0u8; 64]);
        rng.fill_bytes(random.as_mut());
        self.sign_with_randomness(message, &random)
    }

    /// XEdDSA signature whose randomness is derived from the key and the message
    /// (HMAC-SHA512), so the same key signs the same message to the same bytes. Verifiers cannot
    /// tell it from a randomised one; we use it so that a server certificate can be recomputed
    /// from the secrets alone.
    pub fn sign_deterministic(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(DETERMINISTIC_NONCE_LABEL);
        mac.update(message);
        let random = Zeroizing::new(<[u8; 64]>::from(mac.finalize().into_bytes()));
        self.sign_with_randomness(message, &random)
    }

    /// XEdDSA with caller-supplied randomness `Z` — byte-for-byte libsignal's algorithm,
    /// including the sign bit of the Edwards public key carried in the top bit of `s`.
    pub fn sign_with_randomness(&self, message: &[u8], random: &[u8; 64]) -> [u8; SIGNATURE_LEN] {
        let a = Scalar::from_bytes_mod_order(self.0);
        let ed_public = EdwardsPoint::mul_base(&a).compress();
        let sign_bit = ed_public.as_bytes()[31] & 0x80;

        let mut hash1 = Sha512::new();
        hash1.update([0xFE]);
        hash1.update([0xFF; 31]);
        hash1.update(self.0);
        hash1.update(message);
        hash1.update(random);
        let r = Scalar::from_hash(hash1);
        let cap_r = EdwardsPoint::mul_base(&r).compress();

        let mut hash = Sha512::new();
        hash.update(cap_r.as_bytes());
        hash.update(ed_public.as_bytes());
        hash.update(message);
        let h = Scalar::from_hash(hash);
        let s = h * a + r;

        let mut signature = [0u8; SIGNATURE_LEN];
        signature[..32].copy_from_slice(cap_r.as_bytes());
        signature[32..].copy_from_slice(s.as_bytes());
        signature[SIGNATURE_LEN - 1] &= 0x7F;
        signature[SIGNATURE_LEN - 1] |= sign_bit;
        signature
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey([redacted])")
    }
}

/// A Curve25519 public key. Serialized as 33 bytes: [`DJB_KEY_TYPE`] then the Montgomery u.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Parses Signal's 33-byte encoding. Unlike libsignal (which only logs), trailing bytes are
    /// rejected: key material we generate or check must be exact.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let (&key_type, key) = bytes.split_first().ok_or(Error::MissingKeyType)?;
        if key_type != DJB_KEY_TYPE {
            return Err(Error::BadKeyType { found: key_type });
        }
        let key: [u8; 32] = key.try_into().map_err(|_| Error::InvalidLength {
            what: "Curve25519 public key (with type byte)",
            expected: PUBLIC_KEY_LEN,
            actual: bytes.len(),
        })?;
        Ok(Self(key))
    }

    /// From the raw 32-byte Montgomery u-coordinate (no type byte).
    pub fn from_djb_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Signal's 33-byte encoding (what `ECPublicKey.serialize()` returns).
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        let mut out = [0u8; PUBLIC_KEY_LEN];
        out[0] = DJB_KEY_TYPE;
        out[1..].copy_from_slice(&self.0);
        out
    }

    /// The raw 32-byte Montgomery u-coordinate.
    pub fn djb_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Verifies an XEdDSA signature exactly as libsignal's `verify_signature`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        let signature: &[u8; SIGNATURE_LEN] =
            signature.try_into().map_err(|_| Error::InvalidLength {
                what: "XEdDSA signature",
                expected: SIGNATURE_LEN,
                actual: signature.len(),
            })?;
        let sign_bit = (signature[SIGNATURE_LEN - 1] & 0x80) >> 7;
        let ed_public = MontgomeryPoint(self.0)
            .to_edwards(sign_bit)
            .ok_or(Error::BadSignature)?;
        let cap_a = ed_public.compress();
        let cap_r: &[u8] = &signature[..32];
        let mut s = [0u8; 32];
        s.copy_from_slice(&signature[32..]);
        s[31] &= 0x7F;
        if s[31] & 0xE0 != 0 {
            return Err(Error::BadSignature);
        }

        let mut hash = Sha512::new();
        hash.update(cap_r);
        hash.update(cap_a.as_bytes());
        hash.update(message);
        let h = Scalar::from_hash(hash);
        let check = EdwardsPoint::vartime_double_scalar_mul_basepoint(
            &h,
            &-ed_public,
            &Scalar::from_bytes_mod_order(s),
        )
        .compress();
        if bool::from(check.as_bytes().ct_eq(cap_r)) {
            Ok(())
        } else {
            Err(Error::BadSignature)
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", crate::encoding::b64(&self.to_bytes()))
    }
}
