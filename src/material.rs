//! Everything `new` generates for an org: the secrets file shared by its hosts and the public
//! half (public.json). Every value comes from the [`KeySource`] under its own label.

use crate::bundle;
use crate::keysource::KeySource;
use crate::secrets_file::SecretsFile;
use crate::signal;
use crate::spec::{OrgSpec, PublicSpec, SCHEMA_VERSION};
use crate::tls::{self, OrgCa, TLS_SERVICES, TlsError, Validity};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// Files every host's secrets file contains besides `tls/<service>.{crt,key}` (docs/org-spec.md).
pub const SECRET_FILES: [&str; 11] = [
    bundle::SECRETS_FILE,
    "signal-server/aws.env",
    "dynamo/credentials.json",
    "dynamo/postgresql-password",
    "garage/rpc-secret",
    "garage/admin-token",
    "garage/s3.env",
    "valkey/password",
    "turn/static-auth-secret",
    "tls/ca.crt",
    "tls/keytransparency-client.crt",
];

/// Files of the admin-only `secrets/admin.age`: the org's signing keys, which no host holds.
pub const ADMIN_FILES: [&str; 2] = [ADMIN_TRUST_ROOT_KEY, ADMIN_TLS_CA_KEY];
/// The sealed-sender trust root's private key (padded base64): issues server certificates.
pub const ADMIN_TRUST_ROOT_KEY: &str = "signal/trust-root.key";
/// The org CA's private key (PKCS#8 PEM): issues TLS certificates.
pub const ADMIN_TLS_CA_KEY: &str = "tls/ca.key";

/// Region name the DynamoDB stand-in and Garage are configured with.
pub const S3_REGION: &str = "garage";

#[derive(Debug, thiserror::Error)]
pub enum MaterialError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot generate signal keys: {0}")]
    Signal(String),
    #[error("cannot generate inert RSA key: {0}")]
    Rsa(String),
}

pub struct OrgMaterial {
    /// What every host gets (secrets/<host>.age).
    pub secrets: SecretsFile,
    /// What only the admin gets (secrets/admin.age).
    pub admin: SecretsFile,
    pub public: PublicSpec,
}

pub fn generate(
    keys: &KeySource,
    spec: &OrgSpec,
    validity: Validity,
) -> Result<OrgMaterial, MaterialError> {
    let mut secrets = SecretsFile::new();
    let mut entries: BTreeMap<&'static str, Zeroizing<String>> = BTreeMap::new();

    let signal = signal::generate(keys).map_err(MaterialError::Signal)?;
    entries.extend(signal.bundle_entries);

    // One S3/DynamoDB key pair in Garage's format: the server has a single AWS credentials provider.
    let s3_key_id = format!("GK{}", hex::encode(*keys.bytes::<12>("s3/access-key-id")));
    let s3_secret = Zeroizing::new(hex::encode(*keys.bytes::<32>("s3/secret-access-key")));
    entries.insert("cdn.accessKey", Zeroizing::new(s3_key_id.clone()));
    entries.insert("cdn.accessSecret", s3_secret.clone());

    // Shared secrets the server decodes as base64 `SecretBytes` (32 bytes where @ExactlySize(32)).
    for key in [
        "stripe.idempotencyKeyGenerator",
        "directoryV2.client.userAuthenticationTokenSharedSecret",
        "directoryV2.client.userIdTokenSharedSecret",
        "svr2.userAuthenticationTokenSharedSecret",
        "svr2.userIdTokenSharedSecret",
        "svrb.userAuthenticationTokenSharedSecret",
        "svrb.userIdTokenSharedSecret",
        "tus.userAuthenticationTokenSharedSecret",
        "storageService.userAuthenticationTokenSharedSecret",
        "paymentsService.userAuthenticationTokenSharedSecret",
        "currentReportingKey.secret",
        "currentReportingKey.salt",
        "registrationService.collationKeySalt",
        "linkDevice.secret",
        "foundationDbMessages.versionstampCipherKey.0",
    ] {
        entries.insert(
            key,
            Zeroizing::new(STANDARD.encode(*keys.bytes::<32>(&format!("bundle/{key}")))),
        );
    }
    // Tokens the server only passes on (`SecretString`).
    for key in [
        "cdn3StorageManager.clientSecret",
        "turn.cloudflare.apiToken",
        "tlsKeyStore.password",
    ] {
        entries.insert(key, token(keys, &format!("bundle/{key}")));
    }
    // Vendor-only entries: never used by a Sweet Lies network, but the server reads them.
    for key in [
        "stripe.apiKey",
        "braintree.publicKey",
        "braintree.privateKey",
        "apn.teamId",
        "apn.keyId",
        "paymentsService.fixerApiKey",
        "paymentsService.coinGeckoApiKey",
        "hlrLookup.apiKey",
        "hlrLookup.apiSecret",
    ] {
        entries.insert(key, Zeroizing::new("inert-not-used".to_owned()));
    }
    // Keys the server parses at startup (APNs, App Store, GCS, FCM): real keys of the right
    // type, so parsing succeeds, that no vendor knows.
    entries.insert("apn.signingKey", p256_pkcs8_pem(keys, "inert/apn"));
    entries.insert(
        "appleAppStore.encodedKey",
        p256_pkcs8_pem(keys, "inert/app-store"),
    );
    let rsa_pem = inert_rsa_pem(keys)?;
    entries.insert("fcm.credentials", fcm_service_account(keys, &rsa_pem));
    entries.insert("gcpAttachments.rsaSigningKey", rsa_pem);

    // Internal TLS.
    let ca = OrgCa::new(keys, &spec.org, validity)?;
    secrets.insert("tls/ca.crt", ca.certificate_pem.clone());
    for service in TLS_SERVICES {
        let mut names: Vec<String> = match spec.services.get(service) {
            Some(public_name) => vec![public_name.clone()],
            None => vec![format!("{service}.{}", spec.domain)],
        };
        if !spec.services.contains_key(service) {
            names.extend(
                spec.hosts
                    .iter()
                    .map(|h| format!("{}.{}", h.name, spec.domain)),
            );
        }
        let cert = ca.issue(keys, service, &names)?;
        secrets.insert(&format!("tls/{service}.crt"), cert.certificate_pem);
        secrets.insert(
            &format!("tls/{service}.key"),
            cert.private_key_pem.to_string(),
        );
    }
    // The server builds its key transparency gRPC client at startup from this key and the
    // (public) client certificate, which must match.
    let kt = ca.issue(keys, "keytransparency-client", &[])?;
    secrets.insert("tls/keytransparency-client.crt", kt.certificate_pem);
    entries.insert(
        "keyTransparencyService.clientPrivateKey",
        kt.private_key_pem,
    );

    secrets.insert(
        bundle::SECRETS_FILE,
        bundle::render(&entries).to_string(),
    );
    secrets.insert(
        "signal-server/aws.env",
        format!(
            "AWS_ACCESS_KEY_ID={s3_key_id}\nAWS_SECRET_ACCESS_KEY={}\nAWS_REGION={S3_REGION}\n",
            *s3_secret
        ),
    );
    secrets.insert(
        "dynamo/credentials.json",
        serde_json::json!({ "accessKeys": [{ "accessKeyId": s3_key_id, "secretAccessKey": *s3_secret }] }).to_string(),
    );
    secrets.insert(
        "dynamo/postgresql-password",
        token(keys, "dynamo/postgresql-password").to_string(),
    );
    secrets.insert(
        "garage/rpc-secret",
        hex::encode(*keys.bytes::<32>("garage/rpc-secret")),
    );
    secrets.insert(
        "garage/admin-token",
        token(keys, "garage/admin-token").to_string(),
    );
    secrets.insert("garage/s3.env", garage_s3_env(&s3_key_id, &s3_secret));
    secrets.insert(
        "valkey/password",
        token(keys, "valkey/password").to_string(),
    );
    secrets.insert(
        "turn/static-auth-secret",
        hex::encode(*keys.bytes::<32>("turn/static-auth-secret")),
    );

    let public = PublicSpec {
        schema_version: SCHEMA_VERSION,
        org: spec.org.clone(),
        domain: spec.domain.clone(),
        demo: spec.demo,
        urls: spec
            .services
            .iter()
            .map(|(service, host)| (service.clone(), format!("https://{host}")))
            .collect(),
        server_trust_root: signal.public.server_trust_root,
        unidentified_delivery_certificate: signal.public.unidentified_delivery_certificate,
        zkgroup_server_public_params: signal.public.zkgroup_server_public_params,
        generic_server_public_params: signal.public.generic_server_public_params,
        backup_server_public_params: signal.public.backup_server_public_params,
        org_ca_certificate: ca.certificate_pem,
    };
    let mut admin = SecretsFile::new();
    admin.insert(ADMIN_TRUST_ROOT_KEY, signal.trust_root_private_key.to_string());
    admin.insert(ADMIN_TLS_CA_KEY, ca.private_key_pem.to_string());
    Ok(OrgMaterial {
        secrets,
        admin,
        public,
    })
}

/// `garage/s3.env`: Garage's S3 key, the bundle's `cdn.accessKey`/`cdn.accessSecret`.
pub fn garage_s3_env(key_id: &str, secret: &str) -> String {
    format!("GARAGE_ACCESS_KEY_ID={key_id}\nGARAGE_SECRET_ACCESS_KEY={secret}\n")
}

/// 32 random bytes as URL-safe base64: safe in env files, URLs and config files.
fn token(keys: &KeySource, label: &str) -> Zeroizing<String> {
    Zeroizing::new(URL_SAFE_NO_PAD.encode(*keys.bytes::<32>(label)))
}

fn p256_pkcs8_pem(keys: &KeySource, label: &str) -> Zeroizing<String> {
    tls::pkcs8_pem(&p256::ecdsa::SigningKey::random(&mut keys.rng(label)))
}

fn inert_rsa_pem(keys: &KeySource) -> Result<Zeroizing<String>, MaterialError> {
    use rsa::pkcs8::EncodePrivateKey as _;
    let key = rsa::RsaPrivateKey::new(&mut keys.rng("inert/rsa"), 2048)
        .map_err(|e| MaterialError::Rsa(e.to_string()))?;
    let pem = key
        .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .map_err(|e| MaterialError::Rsa(e.to_string()))?;
    Ok(Zeroizing::new(pem.to_string()))
}

/// A Google service-account JSON that parses (FcmSender loads it at startup) and points nowhere.
fn fcm_service_account(keys: &KeySource, rsa_pem: &str) -> Zeroizing<String> {
    Zeroizing::new(
        serde_json::json!({
            "type": "service_account",
            "project_id": "sweetlies-inert",
            "private_key_id": hex::encode(*keys.bytes::<20>("inert/fcm-key-id")),
            "private_key": rsa_pem,
            "client_email": "inert@sweetlies-inert.invalid",
            "client_id": "0",
            "auth_uri": "https://fcm.invalid/auth",
            "token_uri": "https://fcm.invalid/token",
        })
        .to_string(),
    )
}
