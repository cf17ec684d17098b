//! Where every random value of an org comes from: one 32-byte master key, expanded with
//! HKDF-SHA256 under a distinct label per value. `new` draws the master key from the OS; with
//! `--seed` it is derived from the seed, which makes the whole org (but not age ciphertext,
//! whose ephemeral keys age draws itself) reproducible.

use hkdf::Hkdf;
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};
use sha2::Sha256;
use zeroize::Zeroizing;

const SEED_SALT: &[u8] = b"sweetlies-appliance seed v1";

pub struct KeySource {
    master: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeySource(<redacted>)")
    }
}

impl KeySource {
    pub fn random() -> Self {
        let mut master = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(master.as_mut());
        KeySource { master }
    }

    /// Deterministic key source for tests and demos: anyone with the seed has every key. The
    /// org name is mixed in so that one seed gives different orgs different keys.
    pub fn from_seed(seed: &[u8], org: &str) -> Self {
        let mut master = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(SEED_SALT), seed)
            .expand(format!("master/{org}").as_bytes(), master.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        KeySource { master }
    }

    /// `N` bytes for the value called `label`; distinct labels give independent values.
    pub fn bytes<const N: usize>(&self, label: &str) -> Zeroizing<[u8; N]> {
        let mut out = Zeroizing::new([0u8; N]);
        Hkdf::<Sha256>::from_prk(self.master.as_ref())
            .expect("32 bytes is a valid PRK")
            .expand(label.as_bytes(), out.as_mut())
            .expect("output length is small");
        out
    }

    /// A CSPRNG for values that need a stream of randomness (key generation).
    pub fn rng(&self, label: &str) -> ChaCha20Rng {
        ChaCha20Rng::from_seed(*self.bytes::<32>(label))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_separate_and_seeds_reproduce() {
        let a = KeySource::from_seed(b"seed", "acme");
        let b = KeySource::from_seed(b"seed", "acme");
        assert_eq!(*a.bytes::<32>("x"), *b.bytes::<32>("x"));
        assert_ne!(*a.bytes::<32>("x"), *a.bytes::<32>("y"));
        assert_ne!(
            *a.bytes::<32>("x"),
            *KeySource::from_seed(b"other", "acme").bytes::<32>("x")
        );
        assert_ne!(
            *a.bytes::<32>("x"),
            *KeySource::from_seed(b"seed", "beta").bytes::<32>("x")
        );
        assert_ne!(
            *KeySource::random().bytes::<32>("x"),
            *KeySource::random().bytes::<32>("x")
        );
        assert_eq!(format!("{a:?}"), "KeySource(<redacted>)");
    }
}
