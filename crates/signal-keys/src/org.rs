//! An organisation's complete Signal server key set, and where each piece goes.

use std::fmt;

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use zeroize::Zeroizing;

use crate::curve::{PrivateKey, PublicKey};
use crate::encoding::{b64, b64_decode};
use crate::sealed_sender::ServerCertificate;
use crate::zkparams::{
    GenericServerPublicParams, GenericServerSecretParams, RANDOMNESS_LEN, ServerPublicParams,
    ServerSecretParams,
};
use crate::Error;

/// Secrets-bundle key names (Signal-Server `service/config/sample-secrets-bundle.yml`).
pub mod bundle_keys {
    /// Sealed-sender server certificate private key (32 bytes).
    pub const UNIDENTIFIED_DELIVERY_PRIVATE_KEY: &str = "unidentifiedDelivery.privateKey";
    /// zkgroup `ServerSecretParams` (`groupsZkConfig.serverSecret` points here).
    pub const GROUPS_ZK_SERVER_SECRET: &str = "zkConfig-libsignal-0.42.serverSecret";
    /// `GenericServerSecretParams` for calling credentials (`callingZkConfig.serverSecret`).
    pub const CALLING_ZK_SERVER_SECRET: &str = "callingZkConfig.serverSecret";
    /// `GenericServerSecretParams` for backup credentials (`chatZkConfig.serverSecret`).
    pub const CHAT_ZK_SERVER_SECRET: &str = "chatZkConfig.serverSecret";
}

/// Server config (`config.yml`) key paths for the public halves.
pub mod config_keys {
    /// Serialized `ServerCertificate` protobuf.
    pub const UNIDENTIFIED_DELIVERY_CERTIFICATE: &str = "unidentifiedDelivery.certificate";
    /// zkgroup `ServerPublicParams`.
    pub const GROUPS_ZK_SERVER_PUBLIC: &str = "groupsZkConfig.serverPublic";
}

/// Android's list-valued trust-root field.
const ANDROID_TRUST_ROOTS: &str = "UNIDENTIFIED_SENDER_TRUST_ROOTS";

/// An organisation's complete key set.
#[derive(Clone, Debug)]
pub struct OrgKeys {
    pub secret: OrgSecretKeys,
    pub public: OrgPublicKeys,
}

impl OrgKeys {
    /// Generates everything from a CSPRNG. `key_id` is the sealed-sender server certificate's
    /// key id; the two ids Signal-Server reserves are refused.
    pub fn generate<R: CryptoRng + RngCore>(rng: &mut R, key_id: u32) -> Result<OrgKeys, Error> {
        let mut randomness = || {
            let mut bytes = [0u8; RANDOMNESS_LEN];
            rng.fill_bytes(&mut bytes);
            bytes
        };
        let groups = ServerSecretParams::generate(randomness());
        let calling = GenericServerSecretParams::generate(randomness());
        let chat = GenericServerSecretParams::generate(randomness());
        let trust_root = PrivateKey::generate(rng);
        let server_key = PrivateKey::generate(rng);
        let server = ServerSecretKeys { server_key, groups, calling, chat };
        let secret = OrgSecretKeys { trust_root, key_id, server };
        let public = secret.derive_public()?;
        Ok(OrgKeys { secret, public })
    }

    /// Deterministic key set from a 32-byte seed (ChaCha20), for tests and demos. Anyone who
    /// knows the seed knows every secret.
    pub fn from_seed(seed: [u8; 32], key_id: u32) -> Result<OrgKeys, Error> {
        Self::generate(&mut ChaCha20Rng::from_seed(seed), key_id)
    }
}

/// The whole secret half: the sealed-sender trust root (the org's signing key, which only the
/// admin keeps) and what the servers hold ([`ServerSecretKeys`]). `Debug` never prints key
/// material.
#[derive(Clone)]
pub struct OrgSecretKeys {
    trust_root: PrivateKey,
    key_id: u32,
    server: ServerSecretKeys,
}

impl OrgSecretKeys {
    /// The secrets-bundle entries for the servers; the trust root is deliberately not among them.
    pub fn secrets_bundle_entries(&self) -> Vec<(&'static str, Zeroizing<String>)> {
        self.server.secrets_bundle_entries()
    }

    /// Recomputes the public half. The server certificate's signature is deterministic, so this
    /// reproduces exactly the certificate that generation produced.
    pub fn derive_public(&self) -> Result<OrgPublicKeys, Error> {
        let server = &self.server;
        let server_certificate =
            ServerCertificate::issue(self.key_id, &server.server_key.public_key(), &self.trust_root)?;
        Ok(OrgPublicKeys {
            trust_root: self.trust_root.public_key(),
            server_certificate,
            groups: server.groups.public_params(),
            calling: server.calling.public_params(),
            chat: server.chat.public_params(),
        })
    }

    /// The sealed-sender trust root (CA) private key: needed only to issue a new server
    /// certificate, so it belongs with the admin, never on a host.
    pub fn trust_root_private_key(&self) -> &PrivateKey {
        &self.trust_root
    }
    pub fn key_id(&self) -> u32 {
        self.key_id
    }
    /// What the servers hold.
    pub fn server(&self) -> &ServerSecretKeys {
        &self.server
    }
}

impl fmt::Debug for OrgSecretKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OrgSecretKeys([redacted])")
    }
}

/// The secrets a Signal server holds (its secrets bundle): the sealed-sender server key and the
/// three zk parameter sets. `Debug` never prints key material.
#[derive(Clone)]
pub struct ServerSecretKeys {
    server_key: PrivateKey,
    groups: ServerSecretParams,
    calling: GenericServerSecretParams,
    chat: GenericServerSecretParams,
}

impl ServerSecretKeys {
    /// Every secrets-bundle entry, as (bundle key, value). Values are padded standard base64
    /// (Signal-Server decodes them with `Base64.getDecoder()`).
    pub fn secrets_bundle_entries(&self) -> Vec<(&'static str, Zeroizing<String>)> {
        use bundle_keys::*;
        vec![
            (UNIDENTIFIED_DELIVERY_PRIVATE_KEY, Zeroizing::new(b64(self.server_key.to_bytes().as_ref()))),
            (GROUPS_ZK_SERVER_SECRET, Zeroizing::new(b64(&self.groups.serialize()))),
            (CALLING_ZK_SERVER_SECRET, Zeroizing::new(b64(&self.calling.serialize()))),
            (CHAT_ZK_SERVER_SECRET, Zeroizing::new(b64(&self.chat.serialize()))),
        ]
    }

    /// Parses the entries of [`secrets_bundle_entries`](Self::secrets_bundle_entries) back; the
    /// error names the missing or malformed key.
    pub fn from_secrets_bundle(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ServerSecretKeys, Error> {
        use bundle_keys::*;
        let decode = |key: &'static str| -> Result<Zeroizing<Vec<u8>>, Error> {
            let value = lookup(key).map(Zeroizing::new).ok_or(Error::MissingBundleEntry(key))?;
            b64_decode(&value).map(Zeroizing::new).map_err(|e| Error::InvalidBundleEntry {
                key,
                reason: format!("not base64: {e}"),
            })
        };
        let parsed = |key: &'static str, e: Error| Error::InvalidBundleEntry { key, reason: e.to_string() };
        Ok(ServerSecretKeys {
            server_key: PrivateKey::from_bytes(&decode(UNIDENTIFIED_DELIVERY_PRIVATE_KEY)?)
                .map_err(|e| parsed(UNIDENTIFIED_DELIVERY_PRIVATE_KEY, e))?,
            groups: ServerSecretParams::deserialize(&decode(GROUPS_ZK_SERVER_SECRET)?)
                .map_err(|e| parsed(GROUPS_ZK_SERVER_SECRET, e))?,
            calling: GenericServerSecretParams::deserialize(&decode(CALLING_ZK_SERVER_SECRET)?)
                .map_err(|e| parsed(CALLING_ZK_SERVER_SECRET, e))?,
            chat: GenericServerSecretParams::deserialize(&decode(CHAT_ZK_SERVER_SECRET)?)
                .map_err(|e| parsed(CHAT_ZK_SERVER_SECRET, e))?,
        })
    }

    /// Checks that `public` is the public half of these secrets, as `check` needs it without the
    /// trust root's private key: the zk public params derive from the secret ones, and the server
    /// certificate certifies this server key and is signed by `public.trust_root`.
    pub fn verify_public(&self, public: &OrgPublicKeys) -> Result<(), Error> {
        let mismatch = |what| Err(Error::PublicMismatch(what));
        if self.groups.public_params() != public.groups {
            return mismatch("the zkgroup server public params differ");
        }
        if self.calling.public_params() != public.calling {
            return mismatch("the generic (calling) server public params differ");
        }
        if self.chat.public_params() != public.chat {
            return mismatch("the backup (chat) server public params differ");
        }
        if *public.server_certificate.public_key() != self.server_key.public_key() {
            return mismatch("the server certificate certifies another key");
        }
        public.verify()
    }

    pub fn server_certificate_private_key(&self) -> &PrivateKey {
        &self.server_key
    }
    pub fn server_secret_params(&self) -> &ServerSecretParams {
        &self.groups
    }
    pub fn calling_secret_params(&self) -> &GenericServerSecretParams {
        &self.calling
    }
    pub fn chat_secret_params(&self) -> &GenericServerSecretParams {
        &self.chat
    }
}

impl fmt::Debug for ServerSecretKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecretKeys([redacted])")
    }
}

/// The public half: safe to publish, compiled into client builds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgPublicKeys {
    /// Sealed-sender trust root (CA) public key; clients embed it.
    pub trust_root: PublicKey,
    /// Server certificate signed by the trust root (`unidentifiedDelivery.certificate`).
    pub server_certificate: ServerCertificate,
    /// zkgroup params (`groupsZkConfig`).
    pub groups: ServerPublicParams,
    /// Generic params for calling credentials (`callingZkConfig`).
    pub calling: GenericServerPublicParams,
    /// Generic params for backup credentials (`chatZkConfig`).
    pub chat: GenericServerPublicParams,
}

impl OrgPublicKeys {
    /// Parses the public half from padded standard base64 as public.json and the server config
    /// carry it (trust root, server certificate, zkgroup, calling and backup params).
    pub fn decode(
        trust_root: &str,
        server_certificate: &str,
        groups: &str,
        calling: &str,
        chat: &str,
    ) -> Result<OrgPublicKeys, Error> {
        let bytes = |what: &'static str, value: &str| {
            b64_decode(value).map_err(|e| Error::InvalidParams { what, reason: format!("not base64: {e}") })
        };
        let named = |what: &'static str| move |e: Error| Error::InvalidParams { what, reason: e.to_string() };
        let (root, cert, zk, generic, backup) = (
            "trust root",
            "server certificate",
            "zkgroup server public params",
            "generic server public params",
            "backup server public params",
        );
        Ok(OrgPublicKeys {
            trust_root: PublicKey::from_bytes(&bytes(root, trust_root)?).map_err(named(root))?,
            server_certificate: ServerCertificate::deserialize(&bytes(cert, server_certificate)?)
                .map_err(named(cert))?,
            groups: ServerPublicParams::deserialize(&bytes(zk, groups)?).map_err(named(zk))?,
            calling: GenericServerPublicParams::deserialize(&bytes(generic, calling)?)
                .map_err(named(generic))?,
            chat: GenericServerPublicParams::deserialize(&bytes(backup, chat)?).map_err(named(backup))?,
        })
    }

    /// Server `config.yml` values, as (key path, padded standard base64). Signal-Server reads
    /// these `byte[]` fields through Jackson, which requires the padding.
    pub fn server_config_entries(&self) -> Vec<(&'static str, String)> {
        use config_keys::*;
        vec![
            (UNIDENTIFIED_DELIVERY_CERTIFICATE, b64(self.server_certificate.serialize())),
            (GROUPS_ZK_SERVER_PUBLIC, b64(&self.groups.serialize())),
        ]
    }

    /// Signal-Android `app/build.gradle.kts` `buildConfigField` values (the string contents, not
    /// the Kotlin literal). `UNIDENTIFIED_SENDER_TRUST_ROOTS` is a `String[]` upstream and this is
    /// its single element; [`android_build_config_gradle`](Self::android_build_config_gradle)
    /// renders the exact `buildConfigField` lines.
    pub fn android_build_config(&self) -> Vec<(&'static str, String)> {
        vec![
            (ANDROID_TRUST_ROOTS, b64(&self.trust_root.to_bytes())),
            ("ZKGROUP_SERVER_PUBLIC_PARAMS", b64(&self.groups.serialize())),
            ("GENERIC_SERVER_PUBLIC_PARAMS", b64(&self.calling.serialize())),
            ("BACKUP_SERVER_PUBLIC_PARAMS", b64(&self.chat.serialize())),
        ]
    }

    /// The `buildConfigField(...)` lines for `app/build.gradle.kts`, as upstream writes them.
    pub fn android_build_config_gradle(&self) -> Vec<String> {
        self.android_build_config()
            .into_iter()
            .map(|(name, value)| {
                if name == ANDROID_TRUST_ROOTS {
                    format!(r#"buildConfigField("String[]", "{name}", "new String[]{{ \"{value}\" }}")"#)
                } else {
                    format!(r#"buildConfigField("String", "{name}", "\"{value}\"")"#)
                }
            })
            .collect()
    }

    /// Signal-Desktop `config/*.json` string values. The trust root is list-valued in current
    /// Desktop (`serverTrustRoots`, read as `Array<string>` in `app/main.main.ts`), so it is not
    /// here: see [`desktop_trust_roots`](Self::desktop_trust_roots) and
    /// [`desktop_config_json`](Self::desktop_config_json).
    pub fn desktop_config(&self) -> Vec<(&'static str, String)> {
        vec![
            ("serverPublicParams", b64(&self.groups.serialize())),
            ("genericServerPublicParams", b64(&self.calling.serialize())),
            ("backupServerPublicParams", b64(&self.chat.serialize())),
        ]
    }

    /// Desktop's `serverTrustRoots` list (older Desktop releases read a single `serverTrustRoot`
    /// string: the same value).
    pub fn desktop_trust_roots(&self) -> Vec<String> {
        vec![b64(&self.trust_root.to_bytes())]
    }

    /// All Desktop values as one JSON object, ready to merge into a Desktop config file.
    pub fn desktop_config_json(&self) -> String {
        // Base64 needs no JSON escaping.
        let mut fields: Vec<String> =
            self.desktop_config().into_iter().map(|(k, v)| format!("  \"{k}\": \"{v}\"")).collect();
        let roots: Vec<String> = self.desktop_trust_roots().iter().map(|r| format!("\"{r}\"")).collect();
        fields.push(format!("  \"serverTrustRoots\": [{}]", roots.join(", ")));
        format!("{{\n{}\n}}\n", fields.join(",\n"))
    }

    /// Checks the certificate chain: the trust root signed the certificate.
    pub fn verify(&self) -> Result<(), Error> {
        self.server_certificate.verify(&self.trust_root)
    }
}
