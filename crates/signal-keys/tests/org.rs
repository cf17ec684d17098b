//! The organisation key set: determinism, the secrets-bundle round trip, encodings and redaction.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use signal_keys::{
    Error, GenericServerPublicParams, OrgKeys, OrgPublicKeys, PublicKey, ServerCertificate,
    ServerPublicParams, ServerSecretKeys,
};

const SEED: [u8; 32] = [0x5e; 32]; // insecure, test-only

fn bundle(keys: &OrgKeys) -> HashMap<String, String> {
    keys.secret
        .secrets_bundle_entries()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_string()))
        .collect()
}

fn decode(value: &str) -> Vec<u8> {
    STANDARD.decode(value).unwrap_or_else(|e| panic!("not padded standard base64: {value}: {e}"))
}

#[test]
fn from_seed_is_deterministic_and_seed_sensitive() {
    let a = OrgKeys::from_seed(SEED, 1).unwrap();
    let b = OrgKeys::from_seed(SEED, 1).unwrap();
    assert_eq!(a.public, b.public);
    assert_eq!(bundle(&a), bundle(&b));
    let c = OrgKeys::from_seed([0x5f; 32], 1).unwrap();
    assert_ne!(a.public, c.public);
    assert_ne!(bundle(&a), bundle(&c));
}

#[test]
fn generated_sets_are_independent_and_consistent() {
    let mut rng = rand_core::OsRng;
    let a = OrgKeys::generate(&mut rng, 7).unwrap();
    let b = OrgKeys::generate(&mut rng, 7).unwrap();
    assert_ne!(a.public, b.public);
    a.public.verify().unwrap();
    assert_eq!(a.secret.derive_public().unwrap(), a.public);
    // The three zk parameter sets and the two Curve25519 keys must all be distinct.
    assert_ne!(a.public.calling, a.public.chat);
    assert_ne!(a.public.trust_root, *a.public.server_certificate.public_key());
}

#[test]
fn secrets_bundle_round_trips_to_the_same_public_keys() {
    let keys = OrgKeys::from_seed(SEED, 42).unwrap();
    let entries = bundle(&keys);
    let parsed = ServerSecretKeys::from_secrets_bundle(|k| entries.get(k).cloned()).unwrap();
    parsed.verify_public(&keys.public).unwrap();
    let again: HashMap<String, String> = parsed
        .secrets_bundle_entries()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_string()))
        .collect();
    assert_eq!(again, entries);
}

#[test]
fn bundle_accepts_unpadded_base64_like_java() {
    let keys = OrgKeys::from_seed(SEED, 3).unwrap();
    let entries: HashMap<String, String> = bundle(&keys)
        .into_iter()
        .map(|(k, v)| (k, v.trim_end_matches('=').to_owned()))
        .collect();
    let parsed = ServerSecretKeys::from_secrets_bundle(|k| entries.get(k).cloned()).unwrap();
    parsed.verify_public(&keys.public).unwrap();
}

#[test]
fn the_trust_root_private_key_stays_out_of_the_bundle() {
    let keys = OrgKeys::from_seed(SEED, 1).unwrap();
    let root = STANDARD.encode(keys.secret.trust_root_private_key().to_bytes().as_ref());
    let entries = bundle(&keys);
    assert_eq!(entries.len(), 4, "{:?}", entries.keys());
    assert!(entries.values().all(|v| *v != root));
}

#[test]
fn verify_public_rejects_a_public_half_of_other_secrets() {
    let keys = OrgKeys::from_seed(SEED, 1).unwrap();
    let other = OrgKeys::from_seed([0x11; 32], 1).unwrap();
    let entries = bundle(&keys);
    let server = ServerSecretKeys::from_secrets_bundle(|k| entries.get(k).cloned()).unwrap();
    let err = server.verify_public(&other.public).unwrap_err();
    assert!(matches!(err, Error::PublicMismatch(_)), "{err}");

    // Only the certificate swapped: it certifies the other org's server key.
    let swapped = OrgPublicKeys { server_certificate: other.public.server_certificate.clone(), ..keys.public.clone() };
    assert_eq!(
        server.verify_public(&swapped).unwrap_err(),
        Error::PublicMismatch("the server certificate certifies another key")
    );
    // Right certificate, wrong trust root: the signature check fails.
    let rerooted = OrgPublicKeys { trust_root: other.public.trust_root, ..keys.public.clone() };
    assert_eq!(server.verify_public(&rerooted).unwrap_err(), Error::BadSignature);
}

#[test]
fn public_half_decodes_from_its_published_encodings() {
    let keys = OrgKeys::from_seed(SEED, 1).unwrap();
    let android: HashMap<_, _> = keys.public.android_build_config().into_iter().collect();
    let server: HashMap<_, _> = keys.public.server_config_entries().into_iter().collect();
    let decoded = OrgPublicKeys::decode(
        &android["UNIDENTIFIED_SENDER_TRUST_ROOTS"],
        &server["unidentifiedDelivery.certificate"],
        &android["ZKGROUP_SERVER_PUBLIC_PARAMS"],
        &android["GENERIC_SERVER_PUBLIC_PARAMS"],
        &android["BACKUP_SERVER_PUBLIC_PARAMS"],
    )
    .unwrap();
    assert_eq!(decoded, keys.public);
    let err = OrgPublicKeys::decode("%%", "", "", "", "").unwrap_err();
    assert!(err.to_string().contains("trust root"), "{err}");
}

#[test]
fn bundle_errors_name_the_key() {
    let keys = OrgKeys::from_seed(SEED, 1).unwrap();
    let entries = bundle(&keys);
    for (key, _) in keys.secret.secrets_bundle_entries() {
        let err = ServerSecretKeys::from_secrets_bundle(|k| (k != key).then(|| entries[k].clone()))
            .unwrap_err();
        assert_eq!(err, Error::MissingBundleEntry(key));
        assert!(err.to_string().contains(key), "{err}");

        let err = ServerSecretKeys::from_secrets_bundle(|k| {
            Some(if k == key { "!!not base64!!".to_owned() } else { entries[k].clone() })
        })
        .unwrap_err();
        assert!(matches!(err, Error::InvalidBundleEntry { key: k, .. } if k == key), "{err}");
    }

    // Right encoding, wrong length.
    let err = ServerSecretKeys::from_secrets_bundle(|k| {
        Some(if k == "chatZkConfig.serverSecret" { STANDARD.encode([0u8; 10]) } else { entries[k].clone() })
    })
    .unwrap_err();
    assert!(err.to_string().contains("chatZkConfig.serverSecret") && err.to_string().contains("385"), "{err}");
}

#[test]
fn reserved_key_ids_are_refused() {
    for id in [0xdeadc357, 0x7357c357] {
        assert_eq!(OrgKeys::from_seed(SEED, id).unwrap_err(), Error::ReservedKeyId(id));
    }
    assert!(OrgKeys::from_seed(SEED, 0).is_ok());
    assert!(OrgKeys::from_seed(SEED, u32::MAX).is_ok());
}

#[test]
fn debug_never_prints_secrets() {
    let keys = OrgKeys::from_seed(SEED, 1).unwrap();
    let printed = format!("{:?} {:#?}", keys.secret, keys.secret);
    assert_eq!(format!("{:?}", keys.secret), "OrgSecretKeys([redacted])");
    for (key, value) in keys.secret.secrets_bundle_entries() {
        // Neither the base64 nor any 16-char window of it appears.
        for window in value.as_bytes().windows(16).step_by(8) {
            assert!(!printed.contains(std::str::from_utf8(window).unwrap()), "{key} leaked");
        }
    }
    // The whole set prints its public half but not the private keys.
    let whole = format!("{keys:?}");
    assert!(whole.contains("OrgSecretKeys([redacted])"));
    for private in [keys.secret.trust_root_private_key(), keys.secret.server().server_certificate_private_key()] {
        let encoded = STANDARD.encode(private.to_bytes().as_ref());
        assert!(!whole.contains(&encoded[..20]));
        assert_eq!(format!("{private:?}"), "PrivateKey([redacted])");
    }
    assert_eq!(format!("{:?}", keys.secret.server()), "ServerSecretKeys([redacted])");
    assert!(format!("{:?}", keys.secret.server().server_secret_params()).contains("[redacted]"));
    assert!(format!("{:?}", keys.secret.server().chat_secret_params()).contains("[redacted]"));
}

#[test]
fn server_config_values_decode_to_what_the_server_parses() {
    let keys = OrgKeys::from_seed(SEED, 9).unwrap();
    let config: HashMap<_, _> = keys.public.server_config_entries().into_iter().collect();
    assert_eq!(config.len(), 2);
    let cert = ServerCertificate::deserialize(&decode(&config["unidentifiedDelivery.certificate"])).unwrap();
    assert_eq!(cert.key_id(), 9);
    cert.verify(&keys.public.trust_root).unwrap();
    assert_eq!(cert.public_key(), &keys.secret.server().server_certificate_private_key().public_key());
    let groups = ServerPublicParams::deserialize(&decode(&config["groupsZkConfig.serverPublic"])).unwrap();
    assert_eq!(groups, keys.public.groups);

    let secrets = bundle(&keys);
    assert_eq!(decode(&secrets["unidentifiedDelivery.privateKey"]).len(), 32); // @ExactlySize(32)
    assert_eq!(decode(&secrets["zkConfig-libsignal-0.42.serverSecret"]).len(), 2721);
    assert_eq!(decode(&secrets["callingZkConfig.serverSecret"]).len(), 385);
    assert_eq!(decode(&secrets["chatZkConfig.serverSecret"]).len(), 385);
}

#[test]
fn client_values_have_the_upstream_shapes() {
    let keys = OrgKeys::from_seed(SEED, 1).unwrap();
    let android: HashMap<_, _> = keys.public.android_build_config().into_iter().collect();
    let desktop: HashMap<_, _> = keys.public.desktop_config().into_iter().collect();

    // Lengths match upstream's production values: 44 / 900 (ends "==") / 300 / 300 characters.
    let root = &android["UNIDENTIFIED_SENDER_TRUST_ROOTS"];
    assert_eq!(root.len(), 44);
    assert_eq!(PublicKey::from_bytes(&decode(root)).unwrap(), keys.public.trust_root);
    assert_eq!(android["ZKGROUP_SERVER_PUBLIC_PARAMS"].len(), 900);
    assert!(android["ZKGROUP_SERVER_PUBLIC_PARAMS"].ends_with("=="));
    for name in ["GENERIC_SERVER_PUBLIC_PARAMS", "BACKUP_SERVER_PUBLIC_PARAMS"] {
        assert_eq!(android[name].len(), 300);
        GenericServerPublicParams::deserialize(&decode(&android[name])).unwrap();
    }
    // Generic = calling (callingZkConfig), backup = chat (chatZkConfig).
    assert_eq!(decode(&android["GENERIC_SERVER_PUBLIC_PARAMS"]), keys.public.calling.serialize());
    assert_eq!(decode(&android["BACKUP_SERVER_PUBLIC_PARAMS"]), keys.public.chat.serialize());

    assert_eq!(desktop["serverPublicParams"], android["ZKGROUP_SERVER_PUBLIC_PARAMS"]);
    assert_eq!(desktop["genericServerPublicParams"], android["GENERIC_SERVER_PUBLIC_PARAMS"]);
    assert_eq!(desktop["backupServerPublicParams"], android["BACKUP_SERVER_PUBLIC_PARAMS"]);
    assert_eq!(keys.public.desktop_trust_roots(), vec![root.clone()]);

    let json: serde_json::Value = serde_json::from_str(&keys.public.desktop_config_json()).unwrap();
    assert_eq!(json["serverTrustRoots"], serde_json::json!([root]));
    assert_eq!(json["serverPublicParams"], desktop["serverPublicParams"].as_str());

    let gradle = keys.public.android_build_config_gradle();
    assert_eq!(
        gradle[0],
        format!(r#"buildConfigField("String[]", "UNIDENTIFIED_SENDER_TRUST_ROOTS", "new String[]{{ \"{root}\" }}")"#)
    );
    assert_eq!(
        gradle[1],
        format!(r#"buildConfigField("String", "ZKGROUP_SERVER_PUBLIC_PARAMS", "\"{}\"")"#, android["ZKGROUP_SERVER_PUBLIC_PARAMS"])
    );
}
