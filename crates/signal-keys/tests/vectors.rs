//! Byte-for-byte conformance with libsignal v0.101.0, against vectors produced by running
//! libsignal itself (see tests/vectors/README.md).

use serde_json::Value;
use signal_keys::{
    CredentialMode, GenericServerPublicParams, GenericServerSecretParams, PrivateKey, PublicKey,
    ServerCertificate, ServerPublicParams, ServerSecretParams,
};

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("vector file is JSON")
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

fn array32(v: &Value) -> [u8; 32] {
    bytes(v).try_into().expect("32 bytes")
}

fn array64(v: &Value) -> [u8; 64] {
    bytes(v).try_into().expect("64 bytes")
}

fn libsignal_vectors() -> Vec<Value> {
    let file = load("libsignal-v0.101.0.json");
    assert_eq!(file["libsignal"], "v0.101.0");
    let vectors = file["vectors"].as_array().expect("vectors").clone();
    assert!(vectors.len() >= 3, "at least three randomness values");
    vectors
}

#[test]
fn server_params_match_libsignal() {
    for v in libsignal_vectors() {
        let randomness = array32(&v["randomness"]);
        let secret = ServerSecretParams::generate(randomness);
        assert_eq!(*secret.serialize(), bytes(&v["server_secret_params"]), "secret, randomness {}", v["randomness"]);
        let public = secret.public_params();
        assert_eq!(public.serialize(), bytes(&v["server_public_params"]), "public, randomness {}", v["randomness"]);

        // libsignal's bytes parse, re-serialize identically and give the same public params.
        let parsed = ServerSecretParams::deserialize(&bytes(&v["server_secret_params"])).unwrap();
        assert_eq!(*parsed.serialize(), bytes(&v["server_secret_params"]));
        assert_eq!(parsed.public_params(), public);
        let parsed_public = ServerPublicParams::deserialize(&bytes(&v["server_public_params"])).unwrap();
        assert_eq!(parsed_public, public);
    }
}

#[test]
fn generic_params_match_libsignal() {
    for v in libsignal_vectors() {
        let randomness = array32(&v["randomness"]);
        for (mode, secret_key, public_key) in [
            (CredentialMode::Legacy, "generic_legacy_secret_params", "generic_legacy_public_params"),
            (CredentialMode::Standard, "generic_standard_secret_params", "generic_standard_public_params"),
        ] {
            let secret = GenericServerSecretParams::generate_with_mode(randomness, mode);
            assert_eq!(*secret.serialize(), bytes(&v[secret_key]), "{secret_key}, randomness {}", v["randomness"]);
            let public = secret.public_params();
            assert_eq!(public.serialize(), bytes(&v[public_key]), "{public_key}, randomness {}", v["randomness"]);

            let parsed = GenericServerSecretParams::deserialize(&bytes(&v[secret_key])).unwrap();
            assert_eq!(parsed.mode(), mode);
            assert_eq!(parsed.public_params(), public);
            assert_eq!(GenericServerPublicParams::deserialize(&bytes(&v[public_key])).unwrap(), public);
        }
        // The default generator is the legacy one, as in libsignal's Java/Swift/TS bindings.
        assert_eq!(
            *GenericServerSecretParams::generate(randomness).serialize(),
            bytes(&v["generic_legacy_secret_params"])
        );
    }
}

#[test]
fn xeddsa_matches_libsignal() {
    for v in libsignal_vectors() {
        let x = &v["xeddsa"];
        let private = PrivateKey::from_bytes(&bytes(&x["private_key"])).unwrap();
        assert_eq!(private.to_bytes().to_vec(), bytes(&x["private_key"]));
        let public = private.public_key();
        assert_eq!(public.to_bytes().to_vec(), bytes(&x["public_key"]));

        // Ours verifies libsignal's signature ...
        let message = bytes(&x["message"]);
        let signature = bytes(&x["signature"]);
        public.verify(&message, &signature).expect("libsignal's signature verifies");
        // ... and with the same randomness we produce the very same bytes.
        let ours = private.sign_with_randomness(&message, &array64(&x["signing_randomness"]));
        assert_eq!(ours.to_vec(), signature);
    }
}

#[test]
fn server_certificate_matches_libsignal_layout() {
    for v in libsignal_vectors() {
        let c = &v["server_certificate"];
        let trust_root = PrivateKey::from_bytes(&bytes(&c["trust_root_private_key"])).unwrap();
        let server = PrivateKey::from_bytes(&bytes(&c["server_private_key"])).unwrap();
        assert_eq!(server.public_key().to_bytes().to_vec(), bytes(&c["server_public_key"]));
        let key_id = c["key_id"].as_u64().unwrap() as u32;

        let ours = ServerCertificate::issue_with_randomness(
            key_id,
            &server.public_key(),
            &trust_root,
            &array64(&c["signing_randomness"]),
        )
        .unwrap();
        assert_eq!(ours.serialize(), bytes(&c["serialized"]).as_slice());

        let parsed = ServerCertificate::deserialize(&bytes(&c["serialized"])).unwrap();
        assert_eq!(parsed.key_id(), key_id);
        assert_eq!(parsed.public_key(), &server.public_key());
        parsed.verify(&trust_root.public_key()).unwrap();
    }
}

/// Signatures, certificates and params that signal-keys made and libsignal accepted; we must
/// keep producing exactly these bytes.
#[test]
fn our_output_was_accepted_by_libsignal() {
    let file = load("signal-keys-verified-by-libsignal-v0.101.0.json");
    for s in file["signatures"].as_array().unwrap() {
        assert_eq!(s["libsignal_verified"], true);
        let private = PrivateKey::from_bytes(&bytes(&s["private_key"])).unwrap();
        assert_eq!(private.public_key(), PublicKey::from_bytes(&bytes(&s["public_key"])).unwrap());
        let message = bytes(&s["message"]);
        assert_eq!(private.sign_deterministic(&message).to_vec(), bytes(&s["signature"]));
    }
    for c in file["server_certificates"].as_array().unwrap() {
        assert_eq!(c["libsignal_verified"], true);
        let trust_root = PrivateKey::from_bytes(&bytes(&c["trust_root_private_key"])).unwrap();
        let server = PublicKey::from_bytes(&bytes(&c["server_public_key"])).unwrap();
        let key_id = c["key_id"].as_u64().unwrap() as u32;
        let cert = ServerCertificate::issue(key_id, &server, &trust_root).unwrap();
        assert_eq!(cert.serialize(), bytes(&c["serialized"]).as_slice());
    }
    let generic = file["generic_server_secret_params"].as_array().unwrap();
    assert!(generic.len() >= 2);
    for g in generic {
        assert_eq!(g["libsignal_verified"], true);
        let mode = match g["mode"].as_str().unwrap() {
            "Legacy" => CredentialMode::Legacy,
            "Standard" => CredentialMode::Standard,
            other => panic!("unknown mode {other}"),
        };
        let secret = GenericServerSecretParams::generate_with_mode(array32(&g["randomness"]), mode);
        assert_eq!(*secret.serialize(), bytes(&g["secret"]));
        assert_eq!(secret.public_params().serialize(), bytes(&g["public"]));
    }
    for p in file["server_secret_params"].as_array().unwrap() {
        assert_eq!(p["libsignal_verified"], true);
        let secret = ServerSecretParams::generate(array32(&p["randomness"]));
        assert_eq!(*secret.serialize(), bytes(&p["secret"]));
        assert_eq!(secret.public_params().serialize(), bytes(&p["public"]));
    }
}
