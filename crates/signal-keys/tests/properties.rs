//! Property tests: consistency of derived public params, signatures over random messages, and
//! clear rejection of tampered or malformed input.

use proptest::prelude::*;
use signal_keys::{
    CredentialMode, Error, GenericServerPublicParams, GenericServerSecretParams, PrivateKey,
    PublicKey, ServerCertificate, ServerPublicParams, ServerSecretParams,
};

/// Ristretto arithmetic is slow in unoptimised test builds; the zk cases are few but each covers
/// thousands of group operations.
fn zk_config() -> ProptestConfig {
    ProptestConfig { cases: 6, ..ProptestConfig::default() }
}

fn key_config() -> ProptestConfig {
    ProptestConfig { cases: 64, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(zk_config())]

    #[test]
    fn server_params_round_trip_and_stay_consistent(randomness in any::<[u8; 32]>()) {
        let secret = ServerSecretParams::generate(randomness);
        let public = secret.public_params();
        let reparsed = ServerSecretParams::deserialize(&secret.serialize()).unwrap();
        prop_assert_eq!(&*reparsed.serialize(), &*secret.serialize());
        prop_assert_eq!(reparsed.public_params(), public.clone());
        prop_assert_eq!(ServerPublicParams::deserialize(&public.serialize()).unwrap(), public.clone());

        let mut bytes = public.serialize();
        bytes[0] = 1; // reserved byte
        let reserved_rejected =
            matches!(ServerPublicParams::deserialize(&bytes), Err(Error::InvalidParams { .. }));
        prop_assert!(reserved_rejected);
        let truncated_rejected = matches!(
            ServerSecretParams::deserialize(&secret.serialize()[..100]),
            Err(Error::InvalidLength { expected: 2721, actual: 100, .. })
        );
        prop_assert!(truncated_rejected);
    }

    #[test]
    fn generic_params_round_trip_in_both_modes(randomness in any::<[u8; 32]>(), standard in any::<bool>()) {
        let mode = if standard { CredentialMode::Standard } else { CredentialMode::Legacy };
        let secret = GenericServerSecretParams::generate_with_mode(randomness, mode);
        let public = secret.public_params();
        prop_assert_eq!(public.mode(), mode);
        let reparsed = GenericServerSecretParams::deserialize(&secret.serialize()).unwrap();
        prop_assert_eq!(reparsed.public_params(), public.clone());
        prop_assert_eq!(GenericServerPublicParams::deserialize(&public.serialize()).unwrap(), public.clone());

        // The mode changes the public key (slot-zero blinding), never the secret key bytes.
        let other = if standard { CredentialMode::Legacy } else { CredentialMode::Standard };
        let twin = GenericServerSecretParams::generate_with_mode(randomness, other);
        prop_assert_eq!(&twin.serialize()[1..], &secret.serialize()[1..]);
        prop_assert_ne!(twin.public_params(), public.clone());

        let mut bytes = public.serialize();
        bytes[0] = 2; // unknown version
        let err = GenericServerPublicParams::deserialize(&bytes).unwrap_err();
        prop_assert!(err.to_string().contains("version byte 2"), "{}", err);
    }
}

proptest! {
    #![proptest_config(key_config())]

    #[test]
    fn signatures_over_random_messages_verify(
        key in any::<[u8; 32]>(),
        message in proptest::collection::vec(any::<u8>(), 0..512),
        random in any::<[u8; 32]>(),
    ) {
        let private = PrivateKey::from_bytes(&key).unwrap();
        let public = private.public_key();
        let mut z = [0u8; 64];
        z[..32].copy_from_slice(&random);
        for signature in [private.sign_with_randomness(&message, &z), private.sign_deterministic(&message)] {
            prop_assert_eq!(public.verify(&message, &signature), Ok(()));
        }
        // Deterministic signing is deterministic.
        prop_assert_eq!(private.sign_deterministic(&message), private.sign_deterministic(&message));
        // Keys survive their encodings.
        prop_assert_eq!(PublicKey::from_bytes(&public.to_bytes()).unwrap(), public);
        prop_assert_eq!(PrivateKey::from_bytes(private.to_bytes().as_ref()).unwrap().public_key(), public);
    }

    #[test]
    fn tampered_signatures_and_messages_are_rejected(
        key in any::<[u8; 32]>(),
        message in proptest::collection::vec(any::<u8>(), 1..256),
        index in 0usize..64,
        flip in 1u8..=255,
        message_index in any::<prop::sample::Index>(),
    ) {
        let private = PrivateKey::from_bytes(&key).unwrap();
        let public = private.public_key();
        let signature = private.sign_deterministic(&message);

        let mut tampered = signature;
        tampered[index] ^= flip;
        prop_assert_eq!(public.verify(&message, &tampered), Err(Error::BadSignature));

        let mut other_message = message.clone();
        other_message[message_index.index(message.len())] ^= flip;
        prop_assert_eq!(public.verify(&other_message, &signature), Err(Error::BadSignature));

        let other_key = PrivateKey::from_bytes(&[key[0] ^ 1; 32]).unwrap().public_key();
        prop_assume!(other_key != public);
        prop_assert_eq!(other_key.verify(&message, &signature), Err(Error::BadSignature));
    }

    #[test]
    fn malformed_keys_and_signatures_are_rejected_with_clear_errors(
        bytes in proptest::collection::vec(any::<u8>(), 0..80),
        prefix in any::<u8>(),
    ) {
        if bytes.len() != 32 {
            let err = PrivateKey::from_bytes(&bytes).unwrap_err();
            prop_assert_eq!(&err, &Error::InvalidLength { what: "Curve25519 private key", expected: 32, actual: bytes.len() });
            prop_assert!(err.to_string().contains("expected 32 bytes"));
        }

        let mut public = vec![prefix];
        public.extend_from_slice(&bytes);
        let result = PublicKey::from_bytes(&public);
        if prefix != 0x05 {
            prop_assert_eq!(result, Err(Error::BadKeyType { found: prefix }));
        } else if bytes.len() != 32 {
            prop_assert_eq!(result, Err(Error::InvalidLength {
                what: "Curve25519 public key (with type byte)", expected: 33, actual: bytes.len() + 1,
            }));
        } else {
            prop_assert!(result.is_ok());
        }

        let key = PrivateKey::from_bytes(&[7; 32]).unwrap().public_key();
        if bytes.len() != 64 {
            let rejected = matches!(key.verify(b"m", &bytes), Err(Error::InvalidLength { expected: 64, .. }));
            prop_assert!(rejected);
        }
    }

    #[test]
    fn certificates_round_trip_and_tampering_is_caught(
        key_id in any::<u32>(),
        ca in any::<[u8; 32]>(),
        server in any::<[u8; 32]>(),
        index in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        prop_assume!(key_id != 0xdeadc357 && key_id != 0x7357c357);
        let ca = PrivateKey::from_bytes(&ca).unwrap();
        let server = PrivateKey::from_bytes(&server).unwrap().public_key();
        let cert = ServerCertificate::issue(key_id, &server, &ca).unwrap();
        let parsed = ServerCertificate::deserialize(cert.serialize()).unwrap();
        prop_assert_eq!(&parsed, &cert);
        prop_assert_eq!(parsed.verify(&ca.public_key()), Ok(()));

        let mut bytes = cert.serialize().to_vec();
        let at = index.index(bytes.len());
        bytes[at] ^= flip;
        let accepted = ServerCertificate::deserialize(&bytes)
            .and_then(|c| c.verify(&ca.public_key()).map(|()| c));
        prop_assert!(accepted.is_err(), "tampered byte {} accepted", at);
    }
}

#[test]
fn empty_public_key_and_reserved_ids_have_clear_errors() {
    assert_eq!(PublicKey::from_bytes(&[]), Err(Error::MissingKeyType));
    let ca = PrivateKey::from_bytes(&[1; 32]).unwrap();
    let key = PrivateKey::from_bytes(&[2; 32]).unwrap().public_key();
    let err = ServerCertificate::issue(0xdeadc357, &key, &ca).unwrap_err();
    assert_eq!(err, Error::ReservedKeyId(0xdeadc357));
    assert!(err.to_string().contains("0xdeadc357"), "{err}");
    assert!(ServerCertificate::deserialize(&[0x0a, 0x05, 1]).is_err());
}
