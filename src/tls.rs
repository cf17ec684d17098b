//! The org's internal TLS CA and per-service certificates: ECDSA P-256 (the widest client
//! support), RFC 6979 deterministic signatures so that seeded orgs reproduce byte for byte.

use crate::keysource::KeySource;
use p256::ecdsa::{DerSignature, SigningKey, signature::Signer};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyIdMethod, KeyPair, KeyUsagePurpose, RemoteKeyPair, SanType, SerialNumber,
};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// Services that get a certificate (`tls/<service>.crt` / `.key`).
pub const TLS_SERVICES: [&str; 9] = [
    "chat", "storage", "cdn", "cdn3", "sfu", "turn", "s3", "dynamo", "valkey",
];

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
        f.debug_struct("CertifiedKey")
            .field("certificate_pem", &self.certificate_pem)
            .finish_non_exhaustive()
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
    /// Kept only in the admin's file (secrets/admin.age), to issue certificates later.
    pub private_key_pem: Zeroizing<String>,
    validity: Validity,
}

impl OrgCa {
    pub fn new(keys: &KeySource, org: &str, validity: Validity) -> Result<Self, TlsError> {
        let signing_key = SigningKey::random(&mut keys.rng("tls/ca"));
        let private_key_pem = pkcs8_pem(&signing_key);
        let key = remote_key(signing_key);
        let mut params = base_params(&key, validity, keys, "tls/ca");
        params.distinguished_name.push(
            DnType::CommonName,
            format!("{org} internal CA (Sweet Lies)"),
        );
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let certificate = params.self_signed(&key).map_err(|source| TlsError {
            name: "CA".into(),
            source,
        })?;
        let certificate_pem = certificate.pem();
        Ok(OrgCa {
            certificate,
            key,
            certificate_pem,
            private_key_pem,
            validity,
        })
    }

    /// A certificate for `name` with the given DNS names (plus localhost), for server and client use.
    pub fn issue(
        &self,
        keys: &KeySource,
        name: &str,
        dns_names: &[String],
    ) -> Result<CertifiedKey, TlsError> {
        let label = format!("tls/leaf/{name}");
        let signing_key = SigningKey::random(&mut keys.rng(&label));
        let private_key_pem = pkcs8_pem(&signing_key);
        let key = remote_key(signing_key);
        let mut params = base_params(&key, self.validity, keys, &label);
        params.distinguished_name.push(DnType::CommonName, name);
        let err = |source| TlsError {
            name: name.to_owned(),
            source,
        };
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
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let certificate = params
            .signed_by(&key, &self.certificate, &self.key)
            .map_err(err)?;
        Ok(CertifiedKey {
            certificate_pem: certificate.pem(),
            private_key_pem,
        })
    }
}

/// The key as PKCS#8 PEM.
pub(crate) fn pkcs8_pem(key: &SigningKey) -> Zeroizing<String> {
    Zeroizing::new(
        key.to_pkcs8_pem(LineEnding::LF)
            .expect("P-256 keys encode as PKCS#8")
            .to_string(),
    )
}

fn base_params(
    key: &KeyPair,
    validity: Validity,
    keys: &KeySource,
    label: &str,
) -> CertificateParams {
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
    params.key_identifier_method =
        KeyIdMethod::PreSpecified(Sha256::digest(key.public_key_raw())[..20].to_vec());
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
    let public = key
        .verifying_key()
        .to_encoded_point(false)
        .as_bytes()
        .to_vec();
    KeyPair::from_remote(Box::new(P256Signer { key, public }))
        .expect("remote P-256 key is accepted")
}

/// Verifies, as a TLS peer would, that `cert_pem` is signed by the CA `ca_pem`, valid at `now`
/// and (if given) the certificate of the private key `key_pem`.
pub fn verify_certificate(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: Option<&str>,
    now: std::time::SystemTime,
) -> Result<(), String> {
    use p256::ecdsa::{VerifyingKey, signature::Verifier};
    use p256::pkcs8::DecodePrivateKey;
    use x509_cert::der::{DecodePem, Encode};
    let parse = |what: &str, pem: &str| {
        x509_cert::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| format!("{what} is not a PEM certificate: {e}"))
    };
    let ca = parse("the CA", ca_pem)?;
    let cert = parse("the certificate", cert_pem)?;
    let ca_key = VerifyingKey::from_sec1_bytes(
        ca.tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes(),
    )
    .map_err(|_| "the CA key is not ECDSA P-256".to_owned())?;
    let tbs = cert.tbs_certificate.to_der().map_err(|e| e.to_string())?;
    let signature = DerSignature::try_from(cert.signature.raw_bytes())
        .map_err(|_| "malformed signature".to_owned())?;
    ca_key
        .verify(&tbs, &signature)
        .map_err(|_| "not signed by the org CA".to_owned())?;
    let validity = &cert.tbs_certificate.validity;
    if now < validity.not_before.to_system_time() || now > validity.not_after.to_system_time() {
        return Err(format!(
            "not valid now (valid {} to {})",
            validity.not_before, validity.not_after
        ));
    }
    if let Some(key_pem) = key_pem {
        let key = p256::SecretKey::from_pkcs8_pem(key_pem)
            .map_err(|_| "the key is not a P-256 PKCS#8 key".to_owned())?;
        let public =
            p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key.public_key(), false);
        if public.as_bytes()
            != cert
                .tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes()
        {
            return Err("the certificate is not the key's".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_certificates_verify_and_mismatches_are_found() {
        let keys = KeySource::from_seed(b"tls", "acme");
        let now = OffsetDateTime::now_utc();
        let validity = Validity {
            not_before: now - time::Duration::hours(1),
            not_after: now + time::Duration::days(1),
        };
        let ca = OrgCa::new(&keys, "acme", validity).unwrap();
        let chat = ca
            .issue(&keys, "chat", &["chat.acme.example".into()])
            .unwrap();
        let s3 = ca.issue(&keys, "s3", &["s3.acme.example".into()]).unwrap();
        let at = std::time::SystemTime::now();
        verify_certificate(
            &ca.certificate_pem,
            &chat.certificate_pem,
            Some(&chat.private_key_pem),
            at,
        )
        .unwrap();
        verify_certificate(&ca.certificate_pem, &ca.certificate_pem, None, at).unwrap();
        assert_eq!(
            verify_certificate(
                &ca.certificate_pem,
                &chat.certificate_pem,
                Some(&s3.private_key_pem),
                at
            ),
            Err("the certificate is not the key's".into())
        );
        let other_ca =
            OrgCa::new(&KeySource::from_seed(b"tls", "other"), "other", validity).unwrap();
        assert_eq!(
            verify_certificate(&other_ca.certificate_pem, &chat.certificate_pem, None, at),
            Err("not signed by the org CA".into())
        );
        let later = at + std::time::Duration::from_secs(3 * 86400);
        assert!(
            verify_certificate(&ca.certificate_pem, &chat.certificate_pem, None, later)
                .unwrap_err()
                .starts_with("not valid now")
        );
        // Same seed, same bytes (RFC 6979 signatures).
        let again = OrgCa::new(&keys, "acme", validity).unwrap();
        assert_eq!(again.certificate_pem, ca.certificate_pem);
        assert_eq!(
            again
                .issue(&keys, "chat", &["chat.acme.example".into()])
                .unwrap()
                .certificate_pem,
            chat.certificate_pem
        );
    }
}
