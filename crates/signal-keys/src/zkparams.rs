//! zkgroup `ServerSecretParams`/`ServerPublicParams` and `GenericServerSecretParams`/
//! `GenericServerPublicParams`, generated and serialized byte-identically to libsignal v0.101.0.
//!
//! Only generation, public-key derivation and the bincode layout are reimplemented: fixed-width
//! little-endian bincode of plain structs, i.e. scalars and compressed Ristretto points as 32 raw
//! bytes each, fixed-size arrays without a length prefix, and the leading reserved/version byte.

#![allow(non_snake_case)] // the names follow the Chase-Perrin-Zaverucha paper, as libsignal's do

use std::fmt;
use std::sync::OnceLock;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::Error;
use crate::encoding::b64;
use crate::sho::{Sho, ShoHmacSha256, ShoSha256};

/// Bytes of randomness every params generator takes.
pub const RANDOMNESS_LEN: usize = 32;
/// `zkgroup::SERVER_SECRET_PARAMS_LEN`.
pub const SERVER_SECRET_PARAMS_LEN: usize = 2721;
/// `zkgroup::SERVER_PUBLIC_PARAMS_LEN`.
pub const SERVER_PUBLIC_PARAMS_LEN: usize = 673;
/// Serialized `GenericServerSecretParams` (version byte + credential private key).
pub const GENERIC_SERVER_SECRET_PARAMS_LEN: usize = 1 + 12 * 32;
/// Serialized `GenericServerPublicParams` (version byte + C_W + six I points).
pub const GENERIC_SERVER_PUBLIC_PARAMS_LEN: usize = 1 + 7 * 32;

const ZKGROUP_SYSTEM_LABEL: &[u8] = b"Signal_ZKGroup_20200424_Constant_Credentials_SystemParams_Generate";
const SERVER_SECRET_PARAMS_LABEL: &[u8] = b"Signal_ZKGroup_20200424_Random_ServerSecretParams_Generate";
const ZKCREDENTIAL_SYSTEM_LABEL: &[u8] = b"Signal_ZKCredential_ConstantSystemParams_generate_20230410";
const CREDENTIAL_PRIVATE_KEY_LABEL: &[u8] =
    b"Signal_ZKCredential_CredentialPrivateKey_generate_20230410";
const SLOT_ZERO_BLINDING_LABEL: &[u8] = b"Signal_ZKCredential_SlotZeroBlinding_20260805";
const ENDORSEMENT_ROOT_LABEL: &[u8] =
    b"Signal_ZKCredential_Endorsements_ServerRootKeyPair_generate_20240207";

/// zkcredential's `NUM_SUPPORTED_ATTRS`.
const ZKCREDENTIAL_ATTRS: usize = 7;

/// zkgroup's constant generators (`crypto::credentials::SystemParams`), in serialization order.
/// Key generation needs only some of them; all are kept so a test can compare the whole set with
/// libsignal's hardcoded bytes.
#[cfg_attr(not(test), allow(dead_code))]
struct ZkgroupSystem {
    G_w: RistrettoPoint,
    G_wprime: RistrettoPoint,
    G_x0: RistrettoPoint,
    G_x1: RistrettoPoint,
    G_y: [RistrettoPoint; 6],
    G_m: [RistrettoPoint; 5],
    G_V: RistrettoPoint,
    G_z: RistrettoPoint,
}

impl ZkgroupSystem {
    fn get() -> &'static Self {
        static SYSTEM: OnceLock<ZkgroupSystem> = OnceLock::new();
        SYSTEM.get_or_init(|| {
            // Generation order differs from field order: points added later come last.
            let mut sho = ShoHmacSha256::with_data(ZKGROUP_SYSTEM_LABEL, b"");
            let mut next = || sho.get_point();
            let (G_w, G_wprime, G_x0, G_x1) = (next(), next(), next(), next());
            let G_y1_4 = [next(), next(), next(), next()];
            let G_m1_4 = [next(), next(), next(), next()];
            let (G_V, G_z) = (next(), next());
            let (G_y5, G_y6, G_m5) = (next(), next(), next());
            ZkgroupSystem {
                G_w,
                G_wprime,
                G_x0,
                G_x1,
                G_y: [G_y1_4[0], G_y1_4[1], G_y1_4[2], G_y1_4[3], G_y5, G_y6],
                G_m: [G_m1_4[0], G_m1_4[1], G_m1_4[2], G_m1_4[3], G_m5],
                G_V,
                G_z,
            }
        })
    }

    #[cfg(test)]
    fn serialize(&self) -> Vec<u8> {
        let mut w = Writer::default();
        for p in [&self.G_w, &self.G_wprime, &self.G_x0, &self.G_x1] {
            w.point(p);
        }
        self.G_y.iter().chain(&self.G_m).for_each(|p| w.point(p));
        w.point(&self.G_V);
        w.point(&self.G_z);
        w.0
    }
}

/// zkcredential's constant generators (`credentials::SystemParams`); `G_z` is kept for the same
/// reason as in [`ZkgroupSystem`].
#[cfg_attr(not(test), allow(dead_code))]
struct ZkcredentialSystem {
    G_w: RistrettoPoint,
    G_wprime: RistrettoPoint,
    G_x0: RistrettoPoint,
    G_x1: RistrettoPoint,
    G_V: RistrettoPoint,
    G_z: RistrettoPoint,
    G_y: [RistrettoPoint; ZKCREDENTIAL_ATTRS],
}

impl ZkcredentialSystem {
    fn get() -> &'static Self {
        static SYSTEM: OnceLock<ZkcredentialSystem> = OnceLock::new();
        SYSTEM.get_or_init(|| {
            let mut sho = ShoSha256::new(ZKCREDENTIAL_SYSTEM_LABEL);
            let (G_w, G_wprime, G_x0, G_x1) =
                (sho.get_point(), sho.get_point(), sho.get_point(), sho.get_point());
            let (G_V, G_z) = (sho.get_point(), sho.get_point());
            let G_y = std::array::from_fn(|_| sho.get_point());
            ZkcredentialSystem { G_w, G_wprime, G_x0, G_x1, G_V, G_z, G_y }
        })
    }

    #[cfg(test)]
    fn serialize(&self) -> Vec<u8> {
        let mut w = Writer::default();
        for p in [&self.G_w, &self.G_wprime, &self.G_x0, &self.G_x1, &self.G_V, &self.G_z] {
            w.point(p);
        }
        self.G_y.iter().for_each(|p| w.point(p));
        w.0
    }
}

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn byte(&mut self, b: u8) {
        self.0.push(b);
    }
    fn scalar(&mut self, s: &Scalar) {
        self.0.extend_from_slice(s.as_bytes());
    }
    fn point(&mut self, p: &RistrettoPoint) {
        self.0.extend_from_slice(p.compress().as_bytes());
    }
}

struct Reader<'a> {
    what: &'static str,
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn new(what: &'static str, bytes: &'a [u8], expected_len: usize) -> Result<Self, Error> {
        if bytes.len() != expected_len {
            return Err(Error::InvalidLength { what, expected: expected_len, actual: bytes.len() });
        }
        Ok(Self { what, bytes, offset: 0 })
    }

    fn invalid(&self, reason: String) -> Error {
        Error::InvalidParams { what: self.what, reason }
    }

    fn take32(&mut self) -> [u8; 32] {
        let chunk = self.bytes[self.offset..self.offset + 32].try_into().expect("length checked");
        self.offset += 32;
        chunk
    }

    fn byte(&mut self) -> u8 {
        let b = self.bytes[self.offset];
        self.offset += 1;
        b
    }

    fn expect_byte(&mut self, expected: u8, name: &str) -> Result<(), Error> {
        match self.byte() {
            b if b == expected => Ok(()),
            b => Err(self.invalid(format!("{name} byte is {b}, expected {expected}"))),
        }
    }

    fn scalar(&mut self) -> Result<Scalar, Error> {
        let at = self.offset;
        Option::from(Scalar::from_canonical_bytes(self.take32()))
            .ok_or_else(|| self.invalid(format!("non-canonical scalar at byte {at}")))
    }

    fn point(&mut self) -> Result<RistrettoPoint, Error> {
        let at = self.offset;
        CompressedRistretto(self.take32())
            .decompress()
            .ok_or_else(|| self.invalid(format!("invalid Ristretto point at byte {at}")))
    }

    fn scalars<const N: usize>(&mut self) -> Result<[Scalar; N], Error> {
        let mut out = [Scalar::ZERO; N];
        for s in &mut out {
            *s = self.scalar()?;
        }
        Ok(out)
    }

    fn points<const N: usize>(&mut self) -> Result<[RistrettoPoint; N], Error> {
        let mut out = [RistrettoPoint::default(); N];
        for p in &mut out {
            *p = self.point()?;
        }
        Ok(out)
    }
}

/// The secret scalars both zkgroup's `crypto::credentials::KeyPair` and zkcredential's
/// `CredentialPrivateKey` start with, generated and serialized in the same order by both:
/// w, W = w·G_w, w', x0, x1, y[Y].
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct CredentialSecret<const Y: usize> {
    w: Scalar,
    wprime: Scalar,
    W: RistrettoPoint,
    x0: Scalar,
    x1: Scalar,
    y: [Scalar; Y],
}

impl<const Y: usize> CredentialSecret<Y> {
    fn generate(sho: &mut ShoHmacSha256, G_w: RistrettoPoint) -> Self {
        let w = sho.get_scalar();
        let W = w * G_w;
        let wprime = sho.get_scalar();
        let x0 = sho.get_scalar();
        let x1 = sho.get_scalar();
        let y = std::array::from_fn(|_| sho.get_scalar());
        Self { w, wprime, W, x0, x1, y }
    }

    fn write(&self, out: &mut Writer) {
        [&self.w, &self.wprime].into_iter().for_each(|s| out.scalar(s));
        out.point(&self.W);
        [&self.x0, &self.x1].into_iter().chain(&self.y).for_each(|s| out.scalar(s));
    }

    fn read(r: &mut Reader) -> Result<Self, Error> {
        Ok(Self {
            w: r.scalar()?,
            wprime: r.scalar()?,
            W: r.point()?,
            x0: r.scalar()?,
            x1: r.scalar()?,
            y: r.scalars()?,
        })
    }
}

/// zkgroup's `crypto::credentials::KeyPair<S>` with `STORAGE` y-scalars, of which `NUM_ATTRS`
/// enter `I`. Serialized as the [`CredentialSecret`], then C_W, I.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct ZkgroupCredentialKeyPair<const STORAGE: usize, const NUM_ATTRS: usize> {
    secret: CredentialSecret<STORAGE>,
    C_W: RistrettoPoint,
    I: RistrettoPoint,
}

impl<const STORAGE: usize, const NUM_ATTRS: usize> ZkgroupCredentialKeyPair<STORAGE, NUM_ATTRS> {
    fn generate(sho: &mut ShoHmacSha256) -> Self {
        let system = ZkgroupSystem::get();
        let secret = CredentialSecret::<STORAGE>::generate(sho, system.G_w);
        let C_W = secret.W + (secret.wprime * system.G_wprime);
        let mut I = system.G_V - (secret.x0 * system.G_x0) - (secret.x1 * system.G_x1);
        for (yn, G_yn) in secret.y.iter().zip(system.G_y.iter()).take(NUM_ATTRS) {
            I -= yn * G_yn;
        }
        Self { secret, C_W, I }
    }

    fn write(&self, out: &mut Writer) {
        self.secret.write(out);
        out.point(&self.C_W);
        out.point(&self.I);
    }

    fn read(r: &mut Reader) -> Result<Self, Error> {
        Ok(Self { secret: CredentialSecret::read(r)?, C_W: r.point()?, I: r.point()? })
    }

    fn public_key(&self) -> ZkgroupCredentialPublicKey {
        ZkgroupCredentialPublicKey { C_W: self.C_W, I: self.I }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct ZkgroupCredentialPublicKey {
    C_W: RistrettoPoint,
    I: RistrettoPoint,
}

impl ZkgroupCredentialPublicKey {
    fn write(&self, out: &mut Writer) {
        out.point(&self.C_W);
        out.point(&self.I);
    }
    fn read(r: &mut Reader) -> Result<Self, Error> {
        Ok(Self { C_W: r.point()?, I: r.point()? })
    }
}

/// zkgroup's `crypto::signature::KeyPair`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct SignatureKeyPair {
    signing_key: Scalar,
    public_key: RistrettoPoint,
}

impl SignatureKeyPair {
    fn generate(sho: &mut ShoHmacSha256) -> Self {
        let signing_key = sho.get_scalar();
        Self { signing_key, public_key: signing_key * RISTRETTO_BASEPOINT_POINT }
    }
}

/// How a zkcredential key pair issues credentials; it changes the public key's `I` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Zeroize)]
pub enum CredentialMode {
    /// `LegacyMode`: what `GenericServerSecretParams.generate()` (Java/Swift/TS) and the
    /// generic key inside `ServerSecretParams` use. Version byte 0.
    Legacy,
    /// `StandardMode`: slot-zero coefficient blinded per credential arity. Version byte 1.
    Standard,
}

/// zkcredential's `CredentialPrivateKey` (w, w', W, x0, x1, y[7]).
type ZkcredentialPrivateKey = CredentialSecret<ZKCREDENTIAL_ATTRS>;

impl ZkcredentialPrivateKey {
    fn from_randomness(randomness: &[u8; RANDOMNESS_LEN]) -> Self {
        let mut sho = ShoHmacSha256::with_data(CREDENTIAL_PRIVATE_KEY_LABEL, randomness);
        Self::generate(&mut sho, ZkcredentialSystem::get().G_w)
    }

    /// `CredentialPrivateKey::y0`.
    fn y0(&self, mode: CredentialMode, total_attr_count: usize) -> Scalar {
        match mode {
            CredentialMode::Legacy => self.y[0],
            CredentialMode::Standard if total_attr_count == 2 => self.y[0],
            CredentialMode::Standard => {
                let mut sho = ShoHmacSha256::with_data(SLOT_ZERO_BLINDING_LABEL, self.y[0].as_bytes());
                sho.absorb_and_ratchet(&(total_attr_count as u64).to_be_bytes());
                sho.get_scalar()
            }
        }
    }

    /// `CredentialPrivateKey::public_key`: I_n for every arity n = 2..=7.
    fn public_key(&self, mode: CredentialMode) -> ZkcredentialPublicKey {
        let system = ZkcredentialSystem::get();
        let C_W = self.W + (self.wprime * system.G_wprime);
        let mut partial_I = system.G_V - (self.x0 * system.G_x0) - (self.x1 * system.G_x1);
        let I = std::array::from_fn(|i| {
            let n = i + 1;
            partial_I -= self.y[n] * system.G_y[n];
            partial_I - (self.y0(mode, n + 1) * system.G_y[0])
        });
        ZkcredentialPublicKey { C_W, I }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct ZkcredentialPublicKey {
    C_W: RistrettoPoint,
    I: [RistrettoPoint; ZKCREDENTIAL_ATTRS - 1],
}

impl ZkcredentialPublicKey {
    fn write(&self, out: &mut Writer) {
        out.point(&self.C_W);
        self.I.iter().for_each(|p| out.point(p));
    }
    fn read(r: &mut Reader) -> Result<Self, Error> {
        Ok(Self { C_W: r.point()?, I: r.points()? })
    }
}

/// zkcredential's endorsement `ServerRootKeyPair` (serialized as the bare scalar).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct EndorsementRootKey {
    sk: Scalar,
}

impl EndorsementRootKey {
    fn generate(randomness: &[u8; RANDOMNESS_LEN]) -> Self {
        let mut sho = ShoHmacSha256::with_data(ENDORSEMENT_ROOT_LABEL, randomness);
        Self { sk: sho.get_scalar() }
    }
    fn public_key(&self) -> RistrettoPoint {
        RistrettoPoint::mul_base(&self.sk)
    }
}

/// zkgroup's `ServerSecretParams` (the `groupsZkConfig` secret).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ServerSecretParams {
    auth: ZkgroupCredentialKeyPair<4, 3>,
    profile_key: ZkgroupCredentialKeyPair<4, 4>,
    sig: SignatureKeyPair,
    receipt: ZkgroupCredentialKeyPair<4, 2>,
    pni: ZkgroupCredentialKeyPair<6, 6>,
    expiring_profile_key: ZkgroupCredentialKeyPair<5, 5>,
    auth_with_pni: ZkgroupCredentialKeyPair<5, 5>,
    generic: ZkcredentialPrivateKey,
    endorsement: EndorsementRootKey,
}

impl ServerSecretParams {
    /// `ServerSecretParams::generate(randomness)`.
    pub fn generate(randomness: [u8; RANDOMNESS_LEN]) -> Self {
        let randomness = Zeroizing::new(randomness);
        let mut sho = ShoHmacSha256::with_data(SERVER_SECRET_PARAMS_LABEL, randomness.as_ref());
        Self {
            auth: ZkgroupCredentialKeyPair::generate(&mut sho),
            profile_key: ZkgroupCredentialKeyPair::generate(&mut sho),
            sig: SignatureKeyPair::generate(&mut sho),
            receipt: ZkgroupCredentialKeyPair::generate(&mut sho),
            pni: ZkgroupCredentialKeyPair::generate(&mut sho),
            expiring_profile_key: ZkgroupCredentialKeyPair::generate(&mut sho),
            auth_with_pni: ZkgroupCredentialKeyPair::generate(&mut sho),
            generic: ZkcredentialPrivateKey::from_randomness(&randomness),
            endorsement: EndorsementRootKey::generate(&randomness),
        }
    }

    /// `ServerSecretParams::get_public_params()`.
    pub fn public_params(&self) -> ServerPublicParams {
        ServerPublicParams {
            auth: self.auth.public_key(),
            profile_key: self.profile_key.public_key(),
            sig: self.sig.public_key,
            receipt: self.receipt.public_key(),
            pni: self.pni.public_key(),
            expiring_profile_key: self.expiring_profile_key.public_key(),
            auth_with_pni: self.auth_with_pni.public_key(),
            generic: self.generic.public_key(CredentialMode::Legacy),
            endorsement: self.endorsement.public_key(),
        }
    }

    /// zkgroup's bincode serialization ([`SERVER_SECRET_PARAMS_LEN`] bytes).
    pub fn serialize(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer(Vec::with_capacity(SERVER_SECRET_PARAMS_LEN));
        w.byte(0); // reserved
        self.auth.write(&mut w);
        self.profile_key.write(&mut w);
        w.scalar(&self.sig.signing_key);
        w.point(&self.sig.public_key);
        self.receipt.write(&mut w);
        self.pni.write(&mut w);
        self.expiring_profile_key.write(&mut w);
        self.auth_with_pni.write(&mut w);
        self.generic.write(&mut w);
        w.scalar(&self.endorsement.sk);
        Zeroizing::new(w.0)
    }

    pub fn deserialize(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new("ServerSecretParams", bytes, SERVER_SECRET_PARAMS_LEN)?;
        r.expect_byte(0, "reserved")?;
        Ok(Self {
            auth: ZkgroupCredentialKeyPair::read(&mut r)?,
            profile_key: ZkgroupCredentialKeyPair::read(&mut r)?,
            sig: SignatureKeyPair { signing_key: r.scalar()?, public_key: r.point()? },
            receipt: ZkgroupCredentialKeyPair::read(&mut r)?,
            pni: ZkgroupCredentialKeyPair::read(&mut r)?,
            expiring_profile_key: ZkgroupCredentialKeyPair::read(&mut r)?,
            auth_with_pni: ZkgroupCredentialKeyPair::read(&mut r)?,
            generic: ZkcredentialPrivateKey::read(&mut r)?,
            endorsement: EndorsementRootKey { sk: r.scalar()? },
        })
    }
}

impl fmt::Debug for ServerSecretParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecretParams([redacted])")
    }
}

/// zkgroup's `ServerPublicParams` (`groupsZkConfig.serverPublic`, the clients' zkgroup params).
#[derive(Clone, PartialEq, Eq)]
pub struct ServerPublicParams {
    auth: ZkgroupCredentialPublicKey,
    profile_key: ZkgroupCredentialPublicKey,
    sig: RistrettoPoint,
    receipt: ZkgroupCredentialPublicKey,
    pni: ZkgroupCredentialPublicKey,
    expiring_profile_key: ZkgroupCredentialPublicKey,
    auth_with_pni: ZkgroupCredentialPublicKey,
    generic: ZkcredentialPublicKey,
    endorsement: RistrettoPoint,
}

impl ServerPublicParams {
    /// zkgroup's bincode serialization ([`SERVER_PUBLIC_PARAMS_LEN`] bytes).
    pub fn serialize(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(SERVER_PUBLIC_PARAMS_LEN));
        w.byte(0); // reserved
        self.auth.write(&mut w);
        self.profile_key.write(&mut w);
        w.point(&self.sig);
        self.receipt.write(&mut w);
        self.pni.write(&mut w);
        self.expiring_profile_key.write(&mut w);
        self.auth_with_pni.write(&mut w);
        self.generic.write(&mut w);
        w.point(&self.endorsement);
        w.0
    }

    pub fn deserialize(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new("ServerPublicParams", bytes, SERVER_PUBLIC_PARAMS_LEN)?;
        r.expect_byte(0, "reserved")?;
        Ok(Self {
            auth: ZkgroupCredentialPublicKey::read(&mut r)?,
            profile_key: ZkgroupCredentialPublicKey::read(&mut r)?,
            sig: r.point()?,
            receipt: ZkgroupCredentialPublicKey::read(&mut r)?,
            pni: ZkgroupCredentialPublicKey::read(&mut r)?,
            expiring_profile_key: ZkgroupCredentialPublicKey::read(&mut r)?,
            auth_with_pni: ZkgroupCredentialPublicKey::read(&mut r)?,
            generic: ZkcredentialPublicKey::read(&mut r)?,
            endorsement: r.point()?,
        })
    }
}

impl fmt::Debug for ServerPublicParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerPublicParams({})", b64(&self.serialize()))
    }
}

/// zkgroup's `GenericServerSecretParams` (`callingZkConfig`/`chatZkConfig` secrets).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct GenericServerSecretParams {
    mode: CredentialMode,
    key: ZkcredentialPrivateKey,
}

impl GenericServerSecretParams {
    /// `GenericServerSecretParamsLegacy::generate` — what libsignal's Java/Swift/TypeScript
    /// `GenericServerSecretParams.generate()` produce, and so what Signal-Server deployments use.
    pub fn generate(randomness: [u8; RANDOMNESS_LEN]) -> Self {
        Self::generate_with_mode(randomness, CredentialMode::Legacy)
    }

    /// `GenericServerSecretParamsLegacy::generate` or `GenericServerSecretParamsStandard::generate`.
    pub fn generate_with_mode(randomness: [u8; RANDOMNESS_LEN], mode: CredentialMode) -> Self {
        let randomness = Zeroizing::new(randomness);
        Self { mode, key: ZkcredentialPrivateKey::from_randomness(&randomness) }
    }

    pub fn mode(&self) -> CredentialMode {
        self.mode
    }

    pub fn public_params(&self) -> GenericServerPublicParams {
        GenericServerPublicParams { mode: self.mode, key: self.key.public_key(self.mode) }
    }

    /// zkgroup's serialization ([`GENERIC_SERVER_SECRET_PARAMS_LEN`] bytes, version byte first).
    pub fn serialize(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer(Vec::with_capacity(GENERIC_SERVER_SECRET_PARAMS_LEN));
        w.byte(version_byte(self.mode));
        self.key.write(&mut w);
        Zeroizing::new(w.0)
    }

    pub fn deserialize(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new("GenericServerSecretParams", bytes, GENERIC_SERVER_SECRET_PARAMS_LEN)?;
        let mode = read_mode(&mut r)?;
        Ok(Self { mode, key: ZkcredentialPrivateKey::read(&mut r)? })
    }
}

impl fmt::Debug for GenericServerSecretParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GenericServerSecretParams({:?}, [redacted])", self.mode)
    }
}

/// zkgroup's `GenericServerPublicParams` (clients' generic/backup server public params).
#[derive(Clone, PartialEq, Eq)]
pub struct GenericServerPublicParams {
    mode: CredentialMode,
    key: ZkcredentialPublicKey,
}

impl GenericServerPublicParams {
    pub fn mode(&self) -> CredentialMode {
        self.mode
    }

    /// zkgroup's serialization ([`GENERIC_SERVER_PUBLIC_PARAMS_LEN`] bytes, version byte first).
    pub fn serialize(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(GENERIC_SERVER_PUBLIC_PARAMS_LEN));
        w.byte(version_byte(self.mode));
        self.key.write(&mut w);
        w.0
    }

    pub fn deserialize(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new("GenericServerPublicParams", bytes, GENERIC_SERVER_PUBLIC_PARAMS_LEN)?;
        let mode = read_mode(&mut r)?;
        Ok(Self { mode, key: ZkcredentialPublicKey::read(&mut r)? })
    }
}

impl fmt::Debug for GenericServerPublicParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GenericServerPublicParams({})", b64(&self.serialize()))
    }
}

fn version_byte(mode: CredentialMode) -> u8 {
    match mode {
        CredentialMode::Legacy => 0,
        CredentialMode::Standard => 1,
    }
}

fn read_mode(r: &mut Reader) -> Result<CredentialMode, Error> {
    match r.byte() {
        0 => Ok(CredentialMode::Legacy),
        1 => Ok(CredentialMode::Standard),
        v => Err(r.invalid(format!("unknown version byte {v} (expected 0 = legacy or 1 = standard)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `SystemParams::SYSTEM_HARDCODED` in zkgroup's crypto/credentials.rs at v0.101.0.
    const ZKGROUP_SYSTEM_HARDCODED: &str = "9ae7c8e5ed779b114ae7708aa2f794670adda324987b659913122c35505b105e6ca31025d2d76be7fd34944f98f7fa0e37babb2c8b98bbbdbd3dd1bf130cca2c8a9a3bdfaaa2b6b322d46b93eca7b0d51c86a3c839e11466358258a6c10c577fc2bffd34cd99164c9a6cd29fab55d91ff9269322ec3458603cc96a0d47f704058288f62ee0acedb8aa23242121d98965a9bb2991250c11758095ece0fd2b33285286fe1fcb056103b6081744b975f550d08521568dd3d8618f25c140375a0f4024c3aa23bdfffb27fbd982208d3ecd1fd3bcb7ac0c3a14b109804fc748d7fa456cffb4934f980b6e09a248a60f44a6150ae6c13d7e3c06261d7e4eed37f39f60b04dd9d607fd357012274d3c63dbb38e7378599c9e97dfbb28842694891d5f0ddc729919b798b4131503408cc57a9c532f4427632c88f54cea53861a5bc44c61cc6037dc31c2e8d4474fb519587a448693182ad9d6d86b535957858f547b9340127da75f8074caee944ac36c0ac662d38c9b3ccce03a093fcd9644047398b86b6e83372ff14fb8bb0dea65531252ac70d58a4a0810d682a0e709c9227b30ef6c8e17c5915d527221bb00da8175cd6489aa8aa492a500f9abee5690b9dfca8855dc0bd02a7f277add240f639ac16801e81574afb4683edff63b9a01e93dbd867a04b616c706c80c756c11a3016bbfb60977f4648b5f2395a4b428b7211940813e3afde2b87aa9c2c37bf716e2578f95656df12c2fb6f5d0631f6f71e2c3193f6d";

    /// `SystemParams::SYSTEM_HARDCODED` in zkcredential's credentials.rs tests at v0.101.0.
    const ZKCREDENTIAL_SYSTEM_HARDCODED: &str = "589c8718e8263a53a78932b6212a46e7fd52de3ad157b5bb277dba494cfd3471d4cc5f90685952917b33366efcce0512a1f8d70f974758266cb04fc424346d37b20f49cb2a081c94b1771fd8c172ae21785c61ea2c7e31947ce351e7b5ff07028c5329beb87b317ffcd981e440819d91136c988d6d9fbea4a87e55ed24a5993aa02f688ab1d3bd19056f94c8a44b8faddfa3c9c79c95ad44311a7bf00e5e862ec2c399f0d689dfb8c2dc0d7caba32afcf58cf0d85f78195a0b5ab732f565595492cfd982321d1f9be4b21fe6a0214306023d6a05d0d23f67ddc1c0400e5e0a5e92d17595131b7a095e740b884b8c9bb0226a39cfd027c769c4f4677c51f21b24da81fb2bd1356a9d0650f6a63fcc90d93bd74a954ba6f75f0e9fca47a6d21734bce7b28f06b76ef2c44d20a07026534e586eb8e1038874a93e44de362ce7bc0844bffc88e390c62519e281aa6fd53ff9ddd1d9ba303cf70004278ea2ae66ce05a2749d29eba56f3efe99e42902825c473dfc3c154c3762d2e76bd103f629d250b2d9d5c243a4cf8f3be21a84f153f44e2733a105cf780a20f03d84fe1ebbeb0e";

    #[test]
    fn zkgroup_system_params_match_libsignal() {
        assert_eq!(hex::encode(ZkgroupSystem::get().serialize()), ZKGROUP_SYSTEM_HARDCODED);
    }

    #[test]
    fn zkcredential_system_params_match_libsignal() {
        assert_eq!(hex::encode(ZkcredentialSystem::get().serialize()), ZKCREDENTIAL_SYSTEM_HARDCODED);
    }

    #[test]
    fn serialized_lengths_match_zkgroup_constants() {
        let secret = ServerSecretParams::generate([7; 32]);
        assert_eq!(secret.serialize().len(), SERVER_SECRET_PARAMS_LEN);
        assert_eq!(secret.public_params().serialize().len(), SERVER_PUBLIC_PARAMS_LEN);
    }
}
