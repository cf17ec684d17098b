//! `sweetlies-appliance new` as an operator runs it: the real binary on temp directories.

mod common;

use common::*;
use predicates::prelude::*;
use std::collections::BTreeMap;
use sweetlies_appliance::bundle;
use sweetlies_appliance::secrets_file::SecretsFile;

const SEED: &str = "00112233445566778899aabbccddeeff";

/// Every path `new` puts into a secrets file (docs/org-spec.md).
const EXPECTED_SECRET_FILES: &str = "\
dynamo/credentials.json
dynamo/postgresql-password
garage/admin-token
garage/rpc-secret
garage/s3.env
signal-server/aws.env
signal-server/secrets-bundle.yml
tls/ca.crt
tls/cdn.crt
tls/cdn.key
tls/cdn3.crt
tls/cdn3.key
tls/chat.crt
tls/chat.key
tls/dynamo.crt
tls/dynamo.key
tls/keytransparency-client.crt
tls/s3.crt
tls/s3.key
tls/sfu.crt
tls/sfu.key
tls/storage.crt
tls/storage.key
tls/turn.crt
tls/turn.key
tls/valkey.crt
tls/valkey.key
turn/static-auth-secret
valkey/password";

#[test]
fn new_writes_the_org_layout_with_private_identities() {
    let ws = Workspace::new();
    ws.new_org("acme", &["--domain", "acme.example"])
        .stdout(predicate::str::contains("Created org \"acme\""))
        .stdout(predicate::str::contains("Next steps"));
    let org = ws.org_dir("acme");
    let tree: Vec<String> = read_tree(&org).into_keys().collect();
    assert_eq!(
        tree,
        [
            "default.nix",
            "org.json",
            "public.json",
            "secrets/acme-1.age",
            "secrets/admin.age"
        ]
    );
    // Identities: outside the repo, 0600 in 0700 directories.
    assert_eq!(mode(&ws.admin_key("acme")), 0o600);
    assert_eq!(mode(&ws.host_key("acme", "acme-1")), 0o600);
    assert_eq!(mode(&ws.config().join("acme")), 0o700);
    assert_eq!(mode(&ws.config().join("acme/hosts")), 0o700);
    // No leftovers from staging.
    let hosts: Vec<_> = std::fs::read_dir(ws.repo().join("hosts"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(hosts, ["acme"]);
    let config: Vec<_> = std::fs::read_dir(ws.config())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(config, ["acme"]);

    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(org.join("org.json")).unwrap()).unwrap();
    assert_eq!(spec["demo"], false);
    assert_eq!(spec["services"]["chat"], "chat.acme.example");
    assert_eq!(spec["hosts"][0]["roles"].as_array().unwrap().len(), 8);
    // Without --seed the keys are random: a second org differs.
    ws.new_org("acme2", &["--domain", "acme.example"]);
    let a = decrypt(&org.join("secrets/acme-1.age"), &ws.admin_key("acme"));
    let b = decrypt(
        &ws.org_dir("acme2").join("secrets/acme2-1.age"),
        &ws.admin_key("acme2"),
    );
    assert_ne!(a.get("valkey/password"), b.get("valkey/password"));
}

#[test]
fn secrets_hold_every_pinned_bundle_key_and_every_service_file() {
    let ws = Workspace::new();
    ws.new_org("acme", &["--domain", "acme.example", "--seed", SEED]);
    let secrets = decrypt(
        &ws.org_dir("acme").join("secrets/acme-1.age"),
        &ws.admin_key("acme"),
    );
    let files: Vec<&str> = secrets.files.keys().map(String::as_str).collect();
    assert_eq!(files.join("\n"), EXPECTED_SECRET_FILES);

    let bundle = bundle::parse(secrets.get("signal-server/secrets-bundle.yml").unwrap()).unwrap();
    let pinned = pinned_bundle_keys();
    assert_eq!(pinned.len(), 38);
    for key in &pinned {
        assert!(
            bundle.get(key).is_some_and(|v| !v.is_empty()),
            "bundle lacks {key}"
        );
    }
    // Our list in the source is the pinned list.
    assert_eq!(
        bundle::SECRETS_BUNDLE_KEYS.to_vec(),
        pinned.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let extra: Vec<&String> = bundle.keys().filter(|k| !pinned.contains(k)).collect();
    assert!(extra.is_empty(), "entries the pinned server does not know: {extra:?}");

    // Encodings the server's config classes expect.
    use base64::Engine;
    let b64 = |key: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(bundle[key].as_bytes())
            .unwrap()
    };
    for key in [
        "directoryV2.client.userAuthenticationTokenSharedSecret",
        "svr2.userIdTokenSharedSecret",
        "svrb.userAuthenticationTokenSharedSecret",
        "tus.userAuthenticationTokenSharedSecret",
        "unidentifiedDelivery.privateKey",
        "storageService.userAuthenticationTokenSharedSecret",
        "linkDevice.secret",
        "foundationDbMessages.versionstampCipherKey.0",
    ] {
        assert_eq!(b64(key).len(), 32, "{key}");
    }
    assert_eq!(b64("zkConfig-libsignal-0.42.serverSecret").len(), 2721);
    assert_eq!(b64("callingZkConfig.serverSecret").len(), 385);
    // Keys the server parses at startup are real keys of the right type.
    use p256::pkcs8::DecodePrivateKey;
    for key in [
        "apn.signingKey",
        "appleAppStore.encodedKey",
        "keyTransparencyService.clientPrivateKey",
    ] {
        p256::SecretKey::from_pkcs8_pem(&bundle[key]).unwrap_or_else(|e| panic!("{key}: {e}"));
    }
    <rsa::RsaPrivateKey as rsa::pkcs8::DecodePrivateKey>::from_pkcs8_pem(
        &bundle["gcpAttachments.rsaSigningKey"],
    )
    .unwrap();
    let fcm: serde_json::Value = serde_json::from_str(&bundle["fcm.credentials"]).unwrap();
    assert_eq!(fcm["type"], "service_account");
    <rsa::RsaPrivateKey as rsa::pkcs8::DecodePrivateKey>::from_pkcs8_pem(
        fcm["private_key"].as_str().unwrap(),
    )
    .unwrap();
    for cert in ["tls/chat", "tls/valkey"] {
        p256::SecretKey::from_pkcs8_pem(secrets.get(&format!("{cert}.key")).unwrap()).unwrap();
    }

    // One S3/DynamoDB key in Garage format, everywhere the same.
    let key_id = &bundle["cdn.accessKey"];
    let secret = &bundle["cdn.accessSecret"];
    assert!(
        key_id.starts_with("GK")
            && key_id.len() == 26
            && key_id[2..].chars().all(|c| c.is_ascii_hexdigit())
    );
    assert!(secret.len() == 64 && secret.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(
        secrets.get("garage/s3.env").unwrap(),
        format!(
            "GARAGE_ACCESS_KEY_ID={}\nGARAGE_SECRET_ACCESS_KEY={}\n",
            key_id.as_str(),
            secret.as_str()
        )
    );
    assert!(
        secrets
            .get("signal-server/aws.env")
            .unwrap()
            .contains(&format!("AWS_ACCESS_KEY_ID={}\n", key_id.as_str()))
    );
    let creds: serde_json::Value =
        serde_json::from_str(secrets.get("dynamo/credentials.json").unwrap()).unwrap();
    assert_eq!(creds["accessKeys"][0]["accessKeyId"], key_id.as_str());
    assert_eq!(creds["accessKeys"][0]["secretAccessKey"], secret.as_str());
    assert_eq!(secrets.get("garage/rpc-secret").unwrap().len(), 64);
}

#[test]
fn signing_keys_go_to_the_admin_alone() {
    let ws = Workspace::new();
    ws.new_org("acme", &["--domain", "acme.example", "--seed", SEED]);
    let org = ws.org_dir("acme");
    let admin = decrypt(&org.join("secrets/admin.age"), &ws.admin_key("acme"));
    assert_eq!(
        admin.files.keys().map(String::as_str).collect::<Vec<_>>(),
        ["signal/trust-root.key", "tls/ca.key"]
    );
    // The host cannot read them, and its own file holds neither key.
    let host_identity =
        sweetlies_appliance::identity::read_identity_file(&ws.host_key("acme", "acme-1")).unwrap();
    let ciphertext = std::fs::read(org.join("secrets/admin.age")).unwrap();
    assert!(SecretsFile::decrypt(&ciphertext, &host_identity).is_err());
    let host = decrypt(&org.join("secrets/acme-1.age"), &ws.admin_key("acme"));
    for (name, key) in &admin.files {
        let body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(
            host.files.values().all(|v| !v.replace('\n', "").contains(&body)),
            "{name} leaked into a host's secrets"
        );
    }
}

#[test]
fn tls_certificates_chain_to_the_org_ca() {
    if which("openssl").is_none() {
        panic!(
            "openssl is needed to verify the certificates independently (apt-get install openssl)"
        );
    }
    let ws = Workspace::new();
    ws.new_org(
        "acme",
        &[
            "--domain",
            "acme.example",
            "--service",
            "chat=signal.acme.example",
        ],
    );
    let out = ws.dir.path().join("out");
    appliance()
        .args(["secrets", "decrypt", "--identity"])
        .arg(ws.admin_key("acme"))
        .arg("--out")
        .arg(&out)
        .arg(ws.org_dir("acme").join("secrets/acme-1.age"))
        .assert()
        .success();
    let tls = out.join("tls");
    let verify = std::process::Command::new("openssl")
        .args([
            "verify",
            "-CAfile",
            "ca.crt",
            "chat.crt",
            "valkey.crt",
            "dynamo.crt",
            "keytransparency-client.crt",
        ])
        .current_dir(&tls)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let text = std::process::Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-ext",
            "subjectAltName",
            "-in",
            "chat.crt",
        ])
        .current_dir(&tls)
        .output()
        .unwrap();
    let sans = String::from_utf8_lossy(&text.stdout);
    assert!(sans.contains("DNS:signal.acme.example"), "{sans}");
    let public: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.org_dir("acme").join("public.json")).unwrap())
            .unwrap();
    assert_eq!(
        public["orgCaCertificate"].as_str().unwrap(),
        std::fs::read_to_string(tls.join("ca.crt")).unwrap()
    );
    assert_eq!(public["urls"]["chat"], "https://signal.acme.example");
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| std::path::Path::new(d).join(program))
        .find(|p| p.is_file())
}

#[test]
fn five_hosts_spread_roles_and_each_host_decrypts_only_its_own_file() {
    let ws = Workspace::new();
    ws.new_org(
        "acme",
        &["--domain", "acme.example", "--hosts", "5", "--seed", SEED],
    );
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.org_dir("acme").join("org.json")).unwrap())
            .unwrap();
    let roles: BTreeMap<String, Vec<String>> = spec["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap().to_owned(),
                h["roles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    insta::assert_json_snapshot!("five_host_roles", roles);
    let first = decrypt(
        &ws.org_dir("acme").join("secrets/acme-1.age"),
        &ws.host_key("acme", "acme-1"),
    );
    for n in 1..=5 {
        let file = ws.org_dir("acme").join(format!("secrets/acme-{n}.age"));
        assert_eq!(
            decrypt(&file, &ws.host_key("acme", &format!("acme-{n}"))),
            first
        );
        assert_eq!(decrypt(&file, &ws.admin_key("acme")), first);
        let other = ws.host_key("acme", &format!("acme-{}", n % 5 + 1));
        appliance()
            .args(["secrets", "decrypt", "--identity"])
            .arg(&other)
            .arg("--out")
            .arg(ws.dir.path().join("wrong"))
            .arg(&file)
            .assert()
            .failure()
            .stderr(predicate::str::contains("not a recipient"));
    }
    ws.check_cmd("acme").assert().success();
    nix_parse(&ws.org_dir("acme").join("default.nix"));
}

fn nix_parse(file: &std::path::Path) {
    // The dummy store lets parsing run as any user without a Nix daemon.
    let out = std::process::Command::new("nix-instantiate")
        .args(["--store", "dummy://", "--parse"])
        .arg(file)
        .output()
        .expect("nix-instantiate (Debian nix-bin, see checks/install-deps.sh) must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn seeded_output_is_reproducible_and_matches_snapshots() {
    let a = Workspace::new();
    let b = Workspace::new();
    let run_a = a.new_org("acme", &["--domain", "acme.example", "--seed", SEED]);
    b.new_org("acme", &["--domain", "acme.example", "--seed", SEED]);
    let out = run_a.get_output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("NOT SECRET"),
        "loud seed warning missing: {stderr}"
    );

    let tree_a = read_tree(&a.org_dir("acme"));
    let tree_b = read_tree(&b.org_dir("acme"));
    for file in ["org.json", "public.json", "default.nix"] {
        assert_eq!(
            tree_a[file], tree_b[file],
            "{file} differs between runs with one seed"
        );
    }
    // age ciphertext differs (random ephemeral keys), the plaintext does not.
    assert_ne!(tree_a["secrets/acme-1.age"], tree_b["secrets/acme-1.age"]);
    assert_eq!(
        decrypt(
            &a.org_dir("acme").join("secrets/acme-1.age"),
            &a.admin_key("acme")
        ),
        decrypt(
            &b.org_dir("acme").join("secrets/acme-1.age"),
            &b.admin_key("acme")
        )
    );
    assert_eq!(
        read_tree(&a.config()),
        read_tree(&b.config()),
        "identities differ between runs with one seed"
    );

    let text = |f: &str| String::from_utf8(tree_a[f].clone()).unwrap();
    insta::assert_snapshot!("org_json", text("org.json"));
    insta::assert_snapshot!("public_json", text("public.json"));
    insta::assert_snapshot!("default_nix", text("default.nix"));
    insta::with_settings!({filters => vec![
        (r"(?s)-----BEGIN AGE ENCRYPTED FILE-----.*-----END AGE ENCRYPTED FILE-----", "[age ciphertext]"),
    ]}, {
        insta::assert_snapshot!("secrets_age", text("secrets/acme-1.age"));
    });
    // The plaintext secrets, hashed: any change in what `new` generates shows up here.
    let secrets = decrypt(
        &a.org_dir("acme").join("secrets/acme-1.age"),
        &a.admin_key("acme"),
    );
    let digests: BTreeMap<&String, String> = secrets
        .files
        .iter()
        .map(|(path, contents)| {
            use sha2::Digest;
            (path, hex::encode(sha2::Sha256::digest(contents.as_bytes())))
        })
        .collect();
    insta::assert_json_snapshot!("secrets_sha256", digests);
    let tmp = a.dir.path().to_string_lossy().into_owned();
    insta::with_settings!({filters => vec![(tmp.as_str(), "[TMP]")]}, {
        insta::assert_snapshot!("summary", String::from_utf8_lossy(&out.stdout));
    });
    nix_parse(&a.org_dir("acme").join("default.nix"));
}

#[test]
fn output_never_contains_secrets() {
    let ws = Workspace::new();
    let assert = ws.new_org("acme", &["--domain", "acme.example", "-vvv"]);
    let output = assert.get_output();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let secrets = decrypt(
        &ws.org_dir("acme").join("secrets/acme-1.age"),
        &ws.admin_key("acme"),
    );
    for path in [
        "valkey/password",
        "garage/rpc-secret",
        "turn/static-auth-secret",
        "dynamo/postgresql-password",
    ] {
        assert!(
            !printed.contains(secrets.get(path).unwrap()),
            "{path} was printed"
        );
    }
    assert!(
        !printed.contains("AGE-SECRET-KEY"),
        "an identity was printed"
    );
}

#[test]
fn admin_recipient_uses_an_existing_key_and_writes_no_admin_identity() {
    let ws = Workspace::new();
    let admin = age::x25519::Identity::generate();
    let admin_file = ws.dir.path().join("my.agekey");
    {
        use age::secrecy::ExposeSecret;
        sweetlies_appliance::fsutil::write_new(
            &admin_file,
            admin.to_string().expose_secret().as_bytes(),
            0o600,
        )
        .unwrap();
    }
    ws.new_org(
        "acme",
        &[
            "--domain",
            "acme.example",
            "--admin-recipient",
            &admin.to_public().to_string(),
        ],
    );
    assert!(!ws.admin_key("acme").exists());
    assert!(ws.host_key("acme", "acme-1").exists());
    decrypt(&ws.org_dir("acme").join("secrets/acme-1.age"), &admin_file);
    ws.check_cmd("acme")
        .arg("--identity")
        .arg(&admin_file)
        .assert()
        .success();
}

#[test]
fn invalid_input_is_refused_and_leaves_nothing() {
    let ws = Workspace::new();
    let cases: [(&str, &[&str], &str); 8] = [
        ("Acme", &["--domain", "acme.example"], "not a DNS label"),
        ("acme-", &["--domain", "acme.example"], "not a DNS label"),
        ("ac_me", &["--domain", "acme.example"], "not a DNS label"),
        (
            "acme",
            &["--domain", "localhost"],
            "not a fully qualified DNS name",
        ),
        (
            "acme",
            &["--domain", "acme..example"],
            "not a fully qualified DNS name",
        ),
        (
            "acme",
            &["--domain", "acme.example", "--hosts", "0"],
            "--hosts must be at least 1",
        ),
        (
            "acme",
            &["--domain", "acme.example", "--admin-recipient", "age1nope"],
            "print yours with `age-keygen -y",
        ),
        (
            "acme",
            &["--domain", "acme.example", "--seed", "xyz"],
            "--seed must be hex",
        ),
    ];
    for (org, args, message) in cases {
        ws.new_cmd(org, args)
            .assert()
            .failure()
            .stderr(predicate::str::contains(message));
    }
    ws.new_cmd(
        "acme",
        &[
            "--domain",
            "acme.example",
            "--service",
            "mail=x.acme.example",
        ],
    )
    .assert()
    .failure()
    .stderr(predicate::str::contains("not a service"));
    assert!(!ws.repo().join("hosts").exists());
    assert!(!ws.config().exists());
}

#[test]
fn existing_org_is_never_touched() {
    let ws = Workspace::new();
    ws.new_org("acme", &["--domain", "acme.example"]);
    let before = read_tree(&ws.org_dir("acme"));
    let keys_before = read_tree(&ws.config());
    ws.new_cmd("acme", &["--domain", "other.example"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("already exists"))
        .stderr(predicate::str::contains("To rotate its keys"));
    assert_eq!(read_tree(&ws.org_dir("acme")), before);
    assert_eq!(read_tree(&ws.config()), keys_before);

    // Identities left from an earlier org of that name are not overwritten either.
    std::fs::rename(ws.org_dir("acme"), ws.dir.path().join("moved")).unwrap();
    ws.new_cmd("acme", &["--domain", "acme.example"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "identities for org \"acme\" already exist",
        ));
    assert!(!ws.org_dir("acme").exists());
    assert_eq!(read_tree(&ws.config()), keys_before);
}

#[test]
fn unwritable_destinations_fail_cleanly() {
    let ws = Workspace::new();
    // A regular file where the config directory should be: even root cannot create below it.
    let blocker = ws.dir.path().join("blocker");
    std::fs::write(&blocker, "not a directory").unwrap();
    appliance()
        .args(["new", "acme", "--domain", "acme.example", "--repo"])
        .arg(ws.repo())
        .arg("--config-dir")
        .arg(blocker.join("sweetlies"))
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "cannot create the config directory",
        ));
    // The repository side was staged first and must be gone again, including hosts/.
    assert!(
        !ws.repo().join("hosts").exists(),
        "{:?}",
        read_tree(&ws.repo())
    );

    // hosts/ exists and is a file: nothing is written anywhere.
    std::fs::write(ws.repo().join("hosts"), "").unwrap();
    ws.new_cmd("acme", &["--domain", "acme.example"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("hosts"));
    assert!(!ws.config().exists());

    appliance()
        .args(["new", "acme", "--domain", "acme.example", "--repo"])
        .arg(ws.dir.path().join("no-such-checkout"))
        .arg("--config-dir")
        .arg(ws.config())
        .assert()
        .failure()
        .stderr(predicate::str::contains("pass --repo"));
}

#[test]
fn config_dir_comes_from_the_environment_or_xdg() {
    let ws = Workspace::new();
    appliance()
        .args(["new", "acme", "--domain", "acme.example", "--repo"])
        .arg(ws.repo())
        .env("SWEETLIES_CONFIG_DIR", ws.config())
        .assert()
        .success();
    assert!(ws.admin_key("acme").exists());
    let xdg = ws.dir.path().join("xdg");
    appliance()
        .args(["new", "beta", "--domain", "beta.example", "--repo"])
        .arg(ws.repo())
        .env("XDG_CONFIG_HOME", &xdg)
        .assert()
        .success();
    assert!(xdg.join("sweetlies/beta/admin.agekey").exists());
}
