//! The org's internal TLS CA and per-service certificates: ECDSA P-256 (the widest client
//! support), RFC 6979 deterministic signatures so that seeded orgs reproduce byte for byte.

use crate::keysource::KeySource;
use p256::ecdsa::{DerSignature, SigningKey, signature::Signer};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod,
    KeyPair, KeyUsagePurpose, RemoteKeyPair, SanType, SerialNumber,
};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// Services that get a certificate (`tls/<service>.crt` / `.key`).
pub const TLS_SERVICES: [&str; 9] = ["chat", "storage", "cdn", "cdn3", "sfu", "turn", "s3", "dynamo", "valkey"];

#[derive(Debug, thiserror::Error)]
#[error("cannot create certificate {name}: {source}")]
pub struct TlsError {
    name: String,
    source: rcgen::Error,
}

pub struct CertifiedKey {
    pub certificate_pem: String,
    pub private_key_pem: Zeroizing<String>,
}

impl std::fmt::Debug for CertifiedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertifiedKey").field("certificate_pem", &self.certificate_pem).finish_non_exhaustive()
    }
}

/// Validity window of every certificate of one org.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

pub struct OrgCa {
    certificate: rcgen::Certificate,
    key: KeyPair,
    pub certificate_pem: String,
    validity: Validity,
}

impl OrgCa {
    pub fn new(keys: &KeySource, org: &str, validity: Validity) -> Result<Self, TlsError> {
        let signing_key = SigningKey::random(&mut keys.rng("tls/ca"));
        let key = remote_key(signing_key);
        let mut params = base_params(&key, validity, keys, "tls/ca");
        params.distinguished_name.push(DnType::CommonName, format!("{org} internal CA (Sweet Lies)"));
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let certificate = params.self_signed(&key).map_err(|source| TlsError { name: "CA".into(), source })?;
        let certificate_pem = certificate.pem();
        Ok(OrgCa { certificate, key, certificate_pem, validity })
    }

    /// A certificate for `name` with the given DNS names (plus localhost), for server and client use.
    pub fn issue(&self, keys: &KeySource, name: &str, dns_names: &[String]) -> Result<CertifiedKey, TlsError> {
        let label = format!("tls/leaf/{name}");
        let signing_key = SigningKey::random(&mut keys.rng(&label));
        let private_key_pem = Zeroizing::new(
            signing_key.to_pkcs8_pem(LineEnding::LF).expect("P-256 keys encode as PKCS#8").to_string(),
        );
        let key = remote_key(signing_key);
        let mut params = base_params(&key, self.validity, keys, &label);
        params.distinguished_name.push(DnType::CommonName, name);
        let err = |source| TlsError { name: name.to_owned(), source };
        let mut sans = Vec::new();
        for dns in dns_names.iter().map(String::as_str).chain(["localhost"]) {
            sans.push(SanType::DnsName(dns.try_into().map_err(err)?));
        }
        sans.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        sans.push(SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        params.subject_alt_names = sans;
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let certificate = params.signed_by(&key, &self.certificate, &self.key).map_err(err)?;
        Ok(CertifiedKey { certificate_pem: certificate.pem(), private_key_pem })
    }
}

fn base_params(key: &KeyPair, validity: Validity, keys: &KeySource, label: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    // Positive 16-byte serial (RFC 5280 allows up to 20).
    let mut serial = keys.bytes::<16>(&format!("{label}/serial")).to_vec();
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    params.serial_number = Some(SerialNumber::from(serial));
    // Subject key identifier as in RFC 7093 method 1 (truncated SHA-256 of the public key).
    params.key_identifier_method = KeyIdMethod::PreSpecified(Sha256::digest(key.public_key_raw())[..20].to_vec());
    params
}

/// rcgen signs through this so that signatures come from the RustCrypto p256 crate (RFC 6979).
struct P256Signer {
    key: SigningKey,
    public: Vec<u8>,
}

impl RemoteKeyPair for P256Signer {
    fn public_key(&self) -> &[u8] {
        &self.public
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let signature: DerSignature = self.key.sign(msg);
        Ok(signature.as_bytes().to_vec())
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

fn remote_key(key: SigningKey) -> KeyPair {
    let public = key.verifying_key().to_encoded_point(false).as_bytes().to_vec();
    KeyPair::from_remote(Box::new(P256Signer { key, public })).expect("remote P-256 key is accepted")
}
