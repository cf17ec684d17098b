//! The Signal server key set (sealed sender, zkgroup) from the `signal-keys` crate, and the
//! encodings public.json uses for it (those of the client builds, see crates/signal-keys).

use crate::keysource::KeySource;
use crate::spec::PublicSpec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use signal_keys::{OrgKeys, OrgPublicKeys, PrivateKey, PublicKey, ServerCertificate, ServerSecretKeys};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// Key id of the sealed-sender server certificate of a new org.
pub const SERVER_CERTIFICATE_KEY_ID: u32 = 1;

/// Public halves as public.json stores them (padded standard base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalPublic {
    pub server_trust_root: String,
    pub unidentified_delivery_certificate: String,
    pub zkgroup_server_public_params: String,
    pub generic_server_public_params: String,
    pub backup_server_public_params: String,
}

pub struct SignalMaterial {
    pub bundle_entries: Vec<(&'static str, Zeroizing<String>)>,
    /// The sealed-sender trust root's private key (padded base64): for the admin only.
    pub trust_root_private_key: Zeroizing<String>,
    pub public: SignalPublic,
}

pub fn generate(keys: &KeySource) -> Result<SignalMaterial, String> {
    let org_keys = OrgKeys::from_seed(*keys.bytes::<32>("signal-keys"), SERVER_CERTIFICATE_KEY_ID)
        .map_err(|e| e.to_string())?;
    let trust_root = org_keys.secret.trust_root_private_key().to_bytes();
    Ok(SignalMaterial {
        bundle_entries: org_keys.secret.secrets_bundle_entries(),
        trust_root_private_key: Zeroizing::new(STANDARD.encode(trust_root.as_ref())),
        public: encode(&org_keys.public)?,
    })
}

/// Checks that public.json's Signal keys are the public half of the secrets bundle (what
/// `check` needs): same zk params, a certificate for the bundle's server key, signed by the
/// published trust root.
pub fn verify_bundle_matches(
    bundle: &BTreeMap<String, Zeroizing<String>>,
    public: &PublicSpec,
) -> Result<(), String> {
    let server = ServerSecretKeys::from_secrets_bundle(|key| bundle.get(key).map(|v| v.to_string()))
        .map_err(|e| e.to_string())?;
    let published = OrgPublicKeys::decode(
        &public.server_trust_root,
        &public.unidentified_delivery_certificate,
        &public.zkgroup_server_public_params,
        &public.generic_server_public_params,
        &public.backup_server_public_params,
    )
    .map_err(|e| e.to_string())?;
    server.verify_public(&published).map_err(|e| e.to_string())
}

/// Checks that the admin's trust-root private key (padded base64) is the published trust root's.
pub fn verify_trust_root_key(private_b64: &str, published_b64: &str) -> Result<(), String> {
    let private = Zeroizing::new(
        STANDARD
            .decode(private_b64.trim())
            .map_err(|e| format!("not base64: {e}"))?,
    );
    let private = PrivateKey::from_bytes(&private).map_err(|e| e.to_string())?;
    if STANDARD.encode(private.public_key().to_bytes()) != published_b64 {
        return Err("it is not the private key of public.json's serverTrustRoot".into());
    }
    Ok(())
}

/// Checks public.json on its own: the certificate parses and its signature verifies with the
/// trust root, as a client would check it.
pub fn verify_published(trust_root_b64: &str, certificate_b64: &str) -> Result<(), String> {
    let trust_root = STANDARD
        .decode(trust_root_b64)
        .map_err(|e| format!("serverTrustRoot is not base64: {e}"))?;
    let trust_root =
        PublicKey::from_bytes(&trust_root).map_err(|e| format!("serverTrustRoot: {e}"))?;
    let certificate = STANDARD
        .decode(certificate_b64)
        .map_err(|e| format!("unidentifiedDeliveryCertificate is not base64: {e}"))?;
    let certificate = ServerCertificate::deserialize(&certificate)
        .map_err(|e| format!("unidentifiedDeliveryCertificate: {e}"))?;
    certificate.verify(&trust_root).map_err(|e| {
        format!("unidentifiedDeliveryCertificate is not signed by serverTrustRoot: {e}")
    })
}

fn encode(public: &OrgPublicKeys) -> Result<SignalPublic, String> {
    let android: BTreeMap<&str, String> = public.android_build_config().into_iter().collect();
    let server: BTreeMap<&str, String> = public.server_config_entries().into_iter().collect();
    let get = |map: &BTreeMap<&str, String>, key: &str| {
        map.get(key)
            .cloned()
            .ok_or_else(|| format!("signal-keys no longer provides {key}"))
    };
    Ok(SignalPublic {
        server_trust_root: get(&android, "UNIDENTIFIED_SENDER_TRUST_ROOTS")?,
        unidentified_delivery_certificate: get(
            &server,
            signal_keys::org::config_keys::UNIDENTIFIED_DELIVERY_CERTIFICATE,
        )?,
        zkgroup_server_public_params: get(&android, "ZKGROUP_SERVER_PUBLIC_PARAMS")?,
        generic_server_public_params: get(&android, "GENERIC_SERVER_PUBLIC_PARAMS")?,
        backup_server_public_params: get(&android, "BACKUP_SERVER_PUBLIC_PARAMS")?,
    })
}
