//! `sweetlies-appliance check` and `secrets decrypt`, and the committed demo org.

mod common;

use common::*;
use predicates::prelude::*;
use std::os::unix::fs::PermissionsExt;
use sweetlies_appliance::secrets_file::SecretsFile;

fn seeded_org(org: &str) -> Workspace {
    let ws = Workspace::new();
    ws.new_org(
        org,
        &[
            "--domain",
            "acme.example",
            "--hosts",
            "2",
            "--seed",
            "0badc0de",
        ],
    );
    ws
}

/// Re-encrypts host `n`'s secrets after `edit`, as an attacker with the recipients' public keys could.
fn reencrypt(ws: &Workspace, org: &str, host: &str, edit: impl FnOnce(&mut SecretsFile)) {
    let file = ws.org_dir(org).join(format!("secrets/{host}.age"));
    let mut secrets = decrypt(&file, &ws.admin_key(org));
    edit(&mut secrets);
    let recipient = |p: &std::path::Path| {
        sweetlies_appliance::identity::read_identity_file(p)
            .unwrap()
            .to_public()
    };
    let ct = secrets
        .encrypt(&[
            recipient(&ws.host_key(org, host)),
            recipient(&ws.admin_key(org)),
        ])
        .unwrap();
    std::fs::write(file, ct).unwrap();
}

fn edit_json(path: &std::path::Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
}

#[test]
fn check_accepts_a_fresh_org() {
    let ws = seeded_org("acme");
    ws.check_cmd("acme")
        .assert()
        .success()
        .stdout(predicate::str::contains("ok: acme (2 hosts)"))
        .stdout(predicate::str::contains(
            "38 secrets-bundle entries present",
        ));
}

#[test]
fn check_lists_tampered_public_json() {
    let ws = seeded_org("acme");
    let public = ws.org_dir("acme").join("public.json");
    let original = std::fs::read(&public).unwrap();
    edit_json(&public, |v| {
        let params = v["zkgroupServerPublicParams"]
            .as_str()
            .unwrap()
            .replacen('A', "B", 1);
        v["zkgroupServerPublicParams"] = params.into();
        v["urls"]["chat"] = "https://evil.example".into();
    });
    ws.check_cmd("acme")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "problem: public.json: its Signal keys are not the public half of secrets/acme-1.age's secrets bundle: zkgroup server public params",
        ))
        .stderr(predicate::str::contains(
            "problem: public.json: urls.chat is not https://chat.acme.example",
        ))
        .stderr(predicate::str::contains("2 problem(s)"));

    // A trust root that did not sign the certificate.
    std::fs::write(&public, &original).unwrap();
    let other = Workspace::new();
    other.new_org("other", &["--domain", "acme.example", "--seed", "01"]);
    let other_root = serde_json::from_slice::<serde_json::Value>(
        &std::fs::read(other.org_dir("other").join("public.json")).unwrap(),
    )
    .unwrap()["serverTrustRoot"]
        .clone();
    edit_json(&public, |v| v["serverTrustRoot"] = other_root);
    ws.check_cmd("acme")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "unidentifiedDeliveryCertificate is not signed by serverTrustRoot",
        ))
        .stderr(predicate::str::contains(
            "its Signal keys are not the public half of secrets/acme-1.age's secrets bundle: XEdDSA signature does not verify",
        ))
        // The admin's trust-root key no longer matches the published one either.
        .stderr(predicate::str::contains(
            "secrets/admin.age: signal/trust-root.key: it is not the private key of public.json's serverTrustRoot",
        ));

    std::fs::write(&public, &original).unwrap();
    edit_json(&public, |v| {
        v["orgCaCertificate"] = "-----BEGIN CERTIFICATE-----\n".into()
    });
    ws.check_cmd("acme")
        .assert()
        .failure()
        .stderr(predicate::str::contains("orgCaCertificate is not the CA"));
}

#[test]
fn check_lists_missing_bundle_entries_and_inconsistent_keys() {
    let ws = seeded_org("acme");
    reencrypt(&ws, "acme", "acme-1", |secrets| {
        let bundle = secrets
            .files
            .get_mut(sweetlies_appliance::bundle::SECRETS_FILE)
            .unwrap();
        let kept: String = bundle
            .lines()
            .filter(|l| !l.starts_with("tus.") && !l.starts_with("chatZkConfig."))
            .map(|l| format!("{l}\n"))
            .collect();
        **bundle = kept;
        secrets.files.remove("valkey/password");
        let s3_key = secrets.files["tls/s3.key"].clone();
        secrets.files.insert("tls/chat.key".into(), s3_key);
        *secrets.files.get_mut("garage/s3.env").unwrap() =
            zeroize::Zeroizing::new("GARAGE_ACCESS_KEY_ID=GKother\n".into());
    });
    let assert = ws.check_cmd("acme").assert().failure();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    for expected in [
        "secrets/acme-1.age: secrets bundle entry tus.userAuthenticationTokenSharedSecret is missing",
        "secrets/acme-1.age: secrets bundle entry chatZkConfig.serverSecret is missing",
        "secrets/acme-1.age: valkey/password is missing",
        "secrets/acme-1.age: garage/s3.env does not hold the bundle's cdn.accessKey",
        "secrets bundle is missing `chatZkConfig.serverSecret`",
        "secrets/acme-1.age: tls/chat.crt: the certificate is not the key's",
        "secrets/acme-2.age differs from secrets/acme-1.age",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}

#[test]
fn check_requires_the_admin_signing_keys() {
    let ws = seeded_org("acme");
    let admin_file = ws.org_dir("acme").join("secrets/admin.age");
    let original = std::fs::read(&admin_file).unwrap();

    // Another org's signing keys, readable by this admin.
    let other = Workspace::new();
    other.new_org("other", &["--domain", "acme.example", "--seed", "01"]);
    let foreign = decrypt(
        &other.org_dir("other").join("secrets/admin.age"),
        &other.admin_key("other"),
    );
    let admin_recipient = sweetlies_appliance::identity::read_identity_file(&ws.admin_key("acme"))
        .unwrap()
        .to_public();
    std::fs::write(&admin_file, foreign.encrypt(&[admin_recipient]).unwrap()).unwrap();
    let assert = ws.check_cmd("acme").assert().failure();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    for expected in [
        "secrets/admin.age: signal/trust-root.key: it is not the private key of public.json's serverTrustRoot",
        "secrets/admin.age: tls/ca.key is not the key of public.json's orgCaCertificate",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }

    std::fs::write(&admin_file, &original).unwrap();
    ws.check_cmd("acme").assert().success();
    std::fs::remove_file(&admin_file).unwrap();
    ws.check_cmd("acme")
        .assert()
        .failure()
        .stderr(predicate::str::contains("problem: secrets/admin.age: cannot read"));
}

#[test]
fn check_refuses_other_schema_versions_and_wrong_identities() {
    let ws = seeded_org("acme");
    let org_json = ws.org_dir("acme").join("org.json");
    let original = std::fs::read(&org_json).unwrap();
    edit_json(&org_json, |v| v["schemaVersion"] = 2.into());
    ws.check_cmd("acme")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "org.json has schemaVersion 2, this sweetlies-appliance understands 1",
        ));
    std::fs::write(&org_json, &original).unwrap();
    edit_json(&org_json, |v| v["hosts"][1]["name"] = "acme-7".into());
    ws.check_cmd("acme")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "hosts[1].name is \"acme-7\", expected \"acme-2\"",
        ));
    std::fs::write(&org_json, &original).unwrap();

    // Missing admin identity: cannot check at all.
    ws.check_cmd("acme")
        .arg("--identity")
        .arg(ws.dir.path().join("nope.agekey"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("cannot load the admin identity"));
    // Another org's admin: every secrets file is reported.
    let other = seeded_org("other");
    ws.check_cmd("acme")
        .arg("--identity")
        .arg(other.admin_key("other"))
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "secrets/acme-1.age: does not decrypt with the admin identity",
        ))
        .stderr(predicate::str::contains(
            "secrets/acme-2.age: does not decrypt with the admin identity",
        ));
    // A host identity that does not belong to its host.
    std::fs::copy(ws.host_key("acme", "acme-2"), ws.host_key("acme", "acme-1")).unwrap();
    ws.check_cmd("acme")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "is not hosts[acme-1].ageRecipient",
        ));
    ws.check_cmd("nope")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "create the org with `sweetlies-appliance new`",
        ));
}

#[test]
fn decrypt_writes_private_files_atomically() {
    let ws = seeded_org("acme");
    let out = ws.dir.path().join("run/secrets");
    let age_file = ws.org_dir("acme").join("secrets/acme-1.age");
    let run = || {
        appliance()
            .args(["secrets", "decrypt", "--identity"])
            .arg(ws.host_key("acme", "acme-1"))
            .arg("--out")
            .arg(&out)
            .arg(&age_file)
            .assert()
    };
    run()
        .success()
        .stderr(predicate::str::contains("wrote 29 files"));
    let tree = read_tree(&out);
    assert_eq!(tree.len(), 29);
    let expected = decrypt(&age_file, &ws.admin_key("acme"));
    for (path, contents) in &expected.files {
        assert_eq!(tree[path], contents.as_bytes(), "{path}");
        assert_eq!(mode(&out.join(path)), 0o600, "{path}");
    }
    assert_eq!(mode(&out), 0o700);
    assert_eq!(mode(&out.join("tls")), 0o700);
    // Running again (e.g. every boot) replaces the files in place, leaving no temp files.
    std::fs::write(out.join("valkey/password"), "stale").unwrap();
    run().success();
    assert_eq!(read_tree(&out), tree);
}

#[test]
fn decrypt_refuses_bad_identities_and_tampered_files() {
    let ws = seeded_org("acme");
    let age_file = ws.org_dir("acme").join("secrets/acme-1.age");
    let out = ws.dir.path().join("out");
    let decrypt_with = |identity: &std::path::Path, file: &std::path::Path| {
        appliance()
            .args(["secrets", "decrypt", "--identity"])
            .arg(identity)
            .arg("--out")
            .arg(&out)
            .arg(file)
            .assert()
    };
    decrypt_with(&ws.dir.path().join("missing.agekey"), &age_file)
        .failure()
        .stderr(predicate::str::contains("cannot read identity file"));

    let key = ws.host_key("acme", "acme-1");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    decrypt_with(&key, &age_file)
        .failure()
        .stderr(predicate::str::contains("chmod 600"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();

    let garbage = ws.dir.path().join("garbage.agekey");
    sweetlies_appliance::fsutil::write_new(&garbage, b"# nothing here\n", 0o600).unwrap();
    decrypt_with(&garbage, &age_file)
        .failure()
        .stderr(predicate::str::contains("contains no age identity"));

    // Flip one byte of the payload (decoded from the armor, written back as binary age).
    let armored = std::fs::read_to_string(&age_file).unwrap();
    let body: String = armored
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    use base64::Engine;
    let mut binary = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let n = binary.len();
    binary[n - 100] ^= 0x01;
    let tampered = ws.dir.path().join("tampered.age");
    std::fs::write(&tampered, &binary).unwrap();
    decrypt_with(&key, &tampered)
        .failure()
        .stderr(predicate::str::contains("damaged or was tampered with"));
    assert!(!out.exists(), "nothing may be written from a tampered file");

    std::fs::write(&age_file, &binary).unwrap();
    ws.check_cmd("acme")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "secrets/acme-1.age: does not decrypt",
        ));
}

/// hosts/example and checks/fixtures/example are exactly what `new` makes from the demo seed.
#[test]
fn committed_example_org_is_reproducible_and_checks_clean() {
    let root = repo_root();
    let committed = root.join("hosts/example");
    let ws = Workspace::new();
    ws.new_org(
        "example",
        &["--domain", "example.test", "--seed", DEMO_SEED],
    );
    let fresh = read_tree(&ws.org_dir("example"));
    let existing = read_tree(&committed);
    for file in ["org.json", "public.json", "default.nix"] {
        assert!(
            fresh[file] == existing[file],
            "hosts/example/{file} is stale: regenerate it (hosts/example/INSECURE-DEMO.md)"
        );
    }
    let keys_dir = ws.dir.path().join("fixture-keys");
    std::fs::create_dir(&keys_dir).unwrap();
    let admin = private_copy(
        &root.join("checks/fixtures/example/admin.agekey"),
        &keys_dir,
    );
    let host = private_copy(
        &root.join("checks/fixtures/example/hosts/example-1.agekey"),
        &keys_dir,
    );
    assert_eq!(
        std::fs::read(&admin).unwrap(),
        std::fs::read(ws.admin_key("example")).unwrap()
    );
    assert_eq!(
        std::fs::read(&host).unwrap(),
        std::fs::read(ws.host_key("example", "example-1")).unwrap()
    );
    let committed_secrets = decrypt(&committed.join("secrets/example-1.age"), &host);
    assert!(
        committed_secrets
            == decrypt(
                &ws.org_dir("example").join("secrets/example-1.age"),
                &ws.admin_key("example")
            ),
        "hosts/example/secrets/example-1.age is stale: regenerate it"
    );
    let org: serde_json::Value = serde_json::from_slice(&existing["org.json"]).unwrap();
    assert_eq!(org["demo"], true);
    assert!(String::from_utf8_lossy(&existing["default.nix"]).contains("INSECURE DEMO ORG"));
    appliance()
        .args(["check", "example", "--repo"])
        .arg(&root)
        .arg("--identity")
        .arg(&admin)
        .assert()
        .success();
}
