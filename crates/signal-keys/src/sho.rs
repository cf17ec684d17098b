//! poksho's stateful hash objects (`ShoHmacSha256`, `ShoSha256`), exactly as libsignal defines
//! them, plus the scalar/point helpers zkgroup and zkcredential build on them.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const HASH_LEN: usize = 32;
const BLOCK_LEN: usize = 64;

type HmacSha256 = Hmac<Sha256>;

/// The squeeze/absorb interface shared by both hash objects.
pub(crate) trait Sho {
    fn absorb_and_ratchet(&mut self, input: &[u8]);
    fn squeeze_and_ratchet_into(&mut self, target: &mut [u8]);

    fn get_scalar(&mut self) -> Scalar {
        let mut bytes = [0u8; 64];
        self.squeeze_and_ratchet_into(&mut bytes);
        Scalar::from_bytes_mod_order_wide(&bytes)
    }

    fn get_point(&mut self) -> RistrettoPoint {
        let mut bytes = [0u8; 64];
        self.squeeze_and_ratchet_into(&mut bytes);
        RistrettoPoint::from_uniform_bytes(&bytes)
    }
}

/// `poksho::ShoHmacSha256`. Only whole absorb-and-ratchet steps are needed here, so the
/// absorbing state never outlives one call.
pub(crate) struct ShoHmacSha256 {
    cv: [u8; HASH_LEN],
}

impl ShoHmacSha256 {
    pub(crate) fn new(label: &[u8]) -> Self {
        let mut sho = Self { cv: [0; HASH_LEN] };
        sho.absorb_and_ratchet(label);
        sho
    }

    /// zkgroup's `Sho::new(label, data)`: new, then absorb and ratchet `data`.
    pub(crate) fn with_data(label: &[u8], data: &[u8]) -> Self {
        let mut sho = Self::new(label);
        sho.absorb_and_ratchet(data);
        sho
    }

    fn keyed(&self) -> HmacSha256 {
        <HmacSha256 as Mac>::new_from_slice(&self.cv).expect("HMAC accepts 256-bit keys")
    }
}

impl Sho for ShoHmacSha256 {
    fn absorb_and_ratchet(&mut self, input: &[u8]) {
        let mut hasher = self.keyed();
        hasher.update(input);
        hasher.update(&[0x00]);
        self.cv.copy_from_slice(&hasher.finalize().into_bytes());
    }

    fn squeeze_and_ratchet_into(&mut self, target: &mut [u8]) {
        let prefix = self.keyed();
        let outlen = target.len() as u64;
        for (i, chunk) in target.chunks_mut(HASH_LEN).enumerate() {
            let mut block = prefix.clone();
            block.update(&(i as u64).to_be_bytes());
            block.update(&[0x01]);
            chunk.copy_from_slice(&block.finalize().into_bytes()[..chunk.len()]);
        }
        let mut next = prefix;
        next.update(&outlen.to_be_bytes());
        next.update(&[0x02]);
        self.cv.copy_from_slice(&next.finalize().into_bytes());
    }
}

/// `poksho::ShoSha256`, used only to derive zkcredential's constant system parameters.
pub(crate) struct ShoSha256 {
    cv: [u8; HASH_LEN],
}

impl ShoSha256 {
    pub(crate) fn new(label: &[u8]) -> Self {
        let mut sho = Self { cv: [0; HASH_LEN] };
        sho.absorb_and_ratchet(label);
        sho
    }
}

impl Sho for ShoSha256 {
    fn absorb_and_ratchet(&mut self, input: &[u8]) {
        let mut hasher = Sha256::new();
        hasher.update([0u8; BLOCK_LEN]);
        hasher.update(self.cv);
        hasher.update(input);
        self.cv.copy_from_slice(&Sha256::digest(hasher.finalize()));
    }

    fn squeeze_and_ratchet_into(&mut self, target: &mut [u8]) {
        let mut prefix = Sha256::new();
        prefix.update([0u8; BLOCK_LEN - 1]);
        prefix.update([1u8]);
        prefix.update(self.cv);
        let outlen = target.len() as u64;
        for (i, chunk) in target.chunks_mut(HASH_LEN).enumerate() {
            let mut block = prefix.clone();
            block.update((i as u64).to_be_bytes());
            chunk.copy_from_slice(&block.finalize()[..chunk.len()]);
        }
        let mut next = Sha256::new();
        next.update([0u8; BLOCK_LEN - 1]);
        next.update([2u8]);
        next.update(self.cv);
        next.update(outlen.to_be_bytes());
        self.cv.copy_from_slice(&next.finalize());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors from poksho's own tests at libsignal v0.101.0.
    #[test]
    fn hmac_sha256_matches_poksho() {
        let mut sho = ShoHmacSha256::with_data(b"asd", b"asdasd");
        let mut out = [0u8; 65];
        sho.squeeze_and_ratchet_into(&mut out);
        assert_eq!(
            hex::encode(out),
            "392cb9449373037fa0c11aebed69cca3b7d3bc9790878f341729c65d5506442f04986cb5c9098f277c3ea640a4dc6e90372b433a90af9aea7072eaba3398c4fe7a"
        );
    }

    #[test]
    fn sha256_matches_poksho() {
        let mut sho = ShoSha256::new(b"asd");
        sho.absorb_and_ratchet(b"asdasd");
        let mut out = [0u8; 65];
        sho.squeeze_and_ratchet_into(&mut out);
        assert_eq!(
            hex::encode(out),
            "ebe4ef29e18aa54137edd89c23f8bfeac2731c9f675da20e7c67d5ad68d7ee2d40a45232b599552d46b520082fb2705971f07b3158b072b63ab0934a05e6af6448"
        );
    }
}
