//! `sweetlies-appliance check <org>`: verifies hosts/<org>/ and reports every problem found.

use crate::bundle::{self, SECRETS_BUNDLE_KEYS};
use crate::identity::{self, admin_identity_path, host_identity_path};
use crate::material::{self, ADMIN_FILES, ADMIN_TLS_CA_KEY, ADMIN_TRUST_ROOT_KEY, SECRET_FILES};
use crate::secrets_file::SecretsFile;
use crate::signal;
use crate::spec::{OrgSpec, PublicSpec};
use crate::tls::{self, TLS_SERVICES};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The org to check (hosts/<org>/).
    pub org: String,
    /// The Sweet Lies checkout containing hosts/<org>/.
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Where private identities are [default: $XDG_CONFIG_HOME/sweetlies].
    #[arg(long, env = "SWEETLIES_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
    /// Admin identity file [default: <config-dir>/<org>/admin.agekey].
    #[arg(long)]
    pub identity: Option<PathBuf>,
}

pub fn run(args: CheckArgs) -> Result<()> {
    crate::names::validate_dns_label("org name", &args.org)?;
    // Host identities are checked too when they are in the config directory.
    let config_dir = args
        .config_dir
        .clone()
        .or_else(identity::default_config_dir);
    let identity_path = match (&args.identity, &config_dir) {
        (Some(path), _) => path.clone(),
        (None, Some(dir)) => admin_identity_path(dir, &args.org),
        (None, None) => bail!("cannot find a config directory: pass --identity or --config-dir"),
    };
    let org_dir = args.repo.join("hosts").join(&args.org);
    let report = check_org(&org_dir, &identity_path, config_dir.as_deref())?;
    if report.problems.is_empty() {
        println!(
            "ok: {} ({} hosts): {}",
            args.org,
            report.hosts,
            report.checked.join("; ")
        );
        Ok(())
    } else {
        for problem in &report.problems {
            eprintln!("problem: {problem}");
        }
        bail!(
            "hosts/{} has {} problem(s), listed above",
            args.org,
            report.problems.len()
        )
    }
}

#[derive(Debug, Default)]
pub struct CheckReport {
    pub hosts: usize,
    pub checked: Vec<String>,
    pub problems: Vec<String>,
}

/// Errors mean "cannot check at all" (missing org, unusable identity); everything else found
/// wrong is collected in [`CheckReport::problems`].
pub fn check_org(
    org_dir: &Path,
    admin_identity: &Path,
    config_dir: Option<&Path>,
) -> Result<CheckReport> {
    if !org_dir.is_dir() {
        bail!(
            "{} does not exist; create the org with `sweetlies-appliance new`",
            org_dir.display()
        );
    }
    let identity =
        identity::read_identity_file(admin_identity).context("cannot load the admin identity")?;
    let mut report = CheckReport::default();
    let problems = &mut report.problems;

    let read = |name: &str| {
        std::fs::read_to_string(org_dir.join(name))
            .with_context(|| format!("cannot read {}", org_dir.join(name).display()))
    };
    let spec = match OrgSpec::from_json(&read("org.json")?) {
        Ok(spec) => spec,
        Err(e) => {
            problems.push(format!("org.json: {e}"));
            return Ok(report);
        }
    };
    report.hosts = spec.hosts.len();
    report
        .checked
        .push(format!("org.json schemaVersion {}", spec.schema_version));
    let public = match PublicSpec::from_json(&read("public.json")?) {
        Ok(public) => Some(public),
        Err(e) => {
            problems.push(format!("public.json: {e}"));
            None
        }
    };
    if let Some(public) = &public {
        if public.org != spec.org || public.domain != spec.domain || public.demo != spec.demo {
            problems.push("public.json: org, domain or demo differ from org.json".into());
        }
        for (service, host) in &spec.services {
            if public.urls.get(service) != Some(&format!("https://{host}")) {
                problems.push(format!("public.json: urls.{service} is not https://{host}"));
            }
        }
    }
    if !org_dir.join("default.nix").is_file() {
        problems.push("default.nix is missing".into());
    }

    let mut first: Option<(String, SecretsFile)> = None;
    for host in &spec.hosts {
        let path = org_dir.join("secrets").join(format!("{}.age", host.name));
        let ciphertext = match std::fs::read(&path) {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!("secrets/{}.age: cannot read: {e}", host.name));
                continue;
            }
        };
        let secrets = match SecretsFile::decrypt(&ciphertext, &identity) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!(
                    "secrets/{}.age: does not decrypt with the admin identity: {e}",
                    host.name
                ));
                continue;
            }
        };
        if let Some(dir) = config_dir {
            let host_key = host_identity_path(dir, &spec.org, &host.name);
            if host_key.exists() {
                match identity::read_identity_file(&host_key) {
                    Ok(id) if id.to_public().to_string() != host.age_recipient => {
                        problems.push(format!(
                            "{}: its public key is not hosts[{}].ageRecipient in org.json",
                            host_key.display(),
                            host.name
                        ))
                    }
                    Ok(id) => {
                        if let Err(e) = SecretsFile::decrypt(&ciphertext, &id) {
                            problems.push(format!(
                                "secrets/{}.age: does not decrypt with the host identity: {e}",
                                host.name
                            ));
                        }
                    }
                    Err(e) => problems.push(e.to_string()),
                }
            }
        }
        match &first {
            None => {
                check_secrets(&host.name, &secrets, public.as_ref(), problems);
                first = Some((host.name.clone(), secrets));
            }
            Some((first_host, first_secrets)) => {
                if &secrets != first_secrets {
                    problems.push(format!("secrets/{}.age differs from secrets/{first_host}.age: all hosts of an org share one secrets set", host.name));
                }
            }
        }
    }
    check_admin_secrets(org_dir, &identity, public.as_ref(), problems);
    if let Ok(entries) = std::fs::read_dir(org_dir.join("secrets")) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "admin.age" && !spec.hosts.iter().any(|h| format!("{}.age", h.name) == name) {
                problems.push(format!("secrets/{name} belongs to no host in org.json"));
            }
        }
    }
    report.checked.push(format!(
        "{} secrets file(s) decrypt with the admin identity",
        spec.hosts.len()
    ));
    report.checked.push(format!(
        "{} secrets-bundle entries present",
        SECRETS_BUNDLE_KEYS.len()
    ));
    report
        .checked
        .push("public.json matches the secrets".into());
    report
        .checked
        .push("secrets/admin.age holds the org's signing keys".into());
    Ok(report)
}

/// The admin-only file holds the private keys of public.json's trust root and org CA.
fn check_admin_secrets(
    org_dir: &Path,
    identity: &age::x25519::Identity,
    public: Option<&PublicSpec>,
    problems: &mut Vec<String>,
) {
    let path = org_dir.join("secrets").join("admin.age");
    let admin = match std::fs::read(&path) {
        Ok(ciphertext) => match SecretsFile::decrypt(&ciphertext, identity) {
            Ok(admin) => admin,
            Err(e) => {
                problems.push(format!(
                    "secrets/admin.age: does not decrypt with the admin identity: {e}"
                ));
                return;
            }
        },
        Err(e) => {
            problems.push(format!("secrets/admin.age: cannot read: {e}"));
            return;
        }
    };
    for path in admin.files.keys().filter(|p| !ADMIN_FILES.contains(&p.as_str())) {
        problems.push(format!("secrets/admin.age: unexpected file {path}"));
    }
    let Some(public) = public else { return };
    match admin.get(ADMIN_TRUST_ROOT_KEY) {
        None => problems.push(format!("secrets/admin.age: {ADMIN_TRUST_ROOT_KEY} is missing")),
        Some(key) => {
            if let Err(e) = signal::verify_trust_root_key(key, &public.server_trust_root) {
                problems.push(format!("secrets/admin.age: {ADMIN_TRUST_ROOT_KEY}: {e}"));
            }
        }
    }
    match admin.get(ADMIN_TLS_CA_KEY) {
        None => problems.push(format!("secrets/admin.age: {ADMIN_TLS_CA_KEY} is missing")),
        Some(key) => {
            let ca = &public.org_ca_certificate;
            if let Err(e) = tls::verify_certificate(ca, ca, Some(key), std::time::SystemTime::now()) {
                problems.push(format!(
                    "secrets/admin.age: {ADMIN_TLS_CA_KEY} is not the key of public.json's orgCaCertificate: {e}"
                ));
            }
        }
    }
}

fn check_secrets(
    host: &str,
    secrets: &SecretsFile,
    public: Option<&PublicSpec>,
    problems: &mut Vec<String>,
) {
    let mut expected: Vec<String> = SECRET_FILES.iter().map(|s| s.to_string()).collect();
    for service in TLS_SERVICES {
        expected.push(format!("tls/{service}.crt"));
        expected.push(format!("tls/{service}.key"));
    }
    for path in &expected {
        match secrets.get(path) {
            None => problems.push(format!("secrets/{host}.age: {path} is missing")),
            Some("") => problems.push(format!("secrets/{host}.age: {path} is empty")),
            Some(_) => {}
        }
    }
    for path in secrets.files.keys().filter(|p| !expected.contains(p)) {
        problems.push(format!("secrets/{host}.age: unexpected file {path}"));
    }
    let Some(bundle_text) = secrets.get(bundle::SECRETS_FILE) else {
        return;
    };
    let bundle = match bundle::parse(bundle_text) {
        Ok(b) => b,
        Err(e) => {
            problems.push(format!(
                "secrets/{host}.age: {} is not valid YAML: {e}",
                bundle::SECRETS_FILE
            ));
            return;
        }
    };
    for key in SECRETS_BUNDLE_KEYS {
        if bundle.get(key).is_none_or(|v| v.is_empty()) {
            problems.push(format!(
                "secrets/{host}.age: secrets bundle entry {key} is missing or empty"
            ));
        }
    }
    for key in bundle.keys().filter(|k| {
        !SECRETS_BUNDLE_KEYS.contains(&k.as_str())
    }) {
        problems.push(format!("secrets/{host}.age: secrets bundle has an entry {key} that the pinned server does not know"));
    }
    check_shared_s3_key(host, secrets, &bundle, problems);
    if let Some(ca) = secrets.get("tls/ca.crt") {
        let now = std::time::SystemTime::now();
        let mut pairs: Vec<(String, Option<&str>)> = TLS_SERVICES
            .iter()
            .map(|s| (format!("tls/{s}.crt"), secrets.get(&format!("tls/{s}.key"))))
            .collect();
        pairs.push(("tls/ca.crt".into(), None));
        let kt_key = bundle
            .get("keyTransparencyService.clientPrivateKey")
            .map(|k| k.as_str());
        pairs.push(("tls/keytransparency-client.crt".into(), kt_key));
        for (cert_path, key) in pairs {
            let Some(cert) = secrets.get(&cert_path) else {
                continue;
            };
            if let Err(e) = tls::verify_certificate(ca, cert, key, now) {
                problems.push(format!("secrets/{host}.age: {cert_path}: {e}"));
            }
        }
    }
    let Some(public) = public else { return };
    if secrets.get("tls/ca.crt") != Some(public.org_ca_certificate.as_str()) {
        problems
            .push("public.json: orgCaCertificate is not the CA in the secrets (tls/ca.crt)".into());
    }
    if let Err(e) = signal::verify_published(
        &public.server_trust_root,
        &public.unidentified_delivery_certificate,
    ) {
        problems.push(format!("public.json: {e}"));
    }
    if let Err(e) = signal::verify_bundle_matches(&bundle, public) {
        problems.push(format!(
            "public.json: its Signal keys are not the public half of secrets/{host}.age's secrets bundle: {e}"
        ));
    }
}

/// The server, Garage and the DynamoDB stand-in must agree on the one S3/DynamoDB key.
fn check_shared_s3_key(
    host: &str,
    secrets: &SecretsFile,
    bundle: &std::collections::BTreeMap<String, Zeroizing<String>>,
    problems: &mut Vec<String>,
) {
    let (Some(key_id), Some(secret)) =
        (bundle.get("cdn.accessKey"), bundle.get("cdn.accessSecret"))
    else {
        return;
    };
    let garage = Zeroizing::new(material::garage_s3_env(key_id, secret));
    if secrets.get("garage/s3.env") != Some(garage.as_str()) {
        problems.push(format!("secrets/{host}.age: garage/s3.env does not hold the bundle's cdn.accessKey/cdn.accessSecret"));
    }
    let aws_ok = secrets.get("signal-server/aws.env").is_some_and(|env| {
        env.lines()
            .any(|l| l == format!("AWS_ACCESS_KEY_ID={}", key_id.as_str()))
            && env
                .lines()
                .any(|l| l == format!("AWS_SECRET_ACCESS_KEY={}", secret.as_str()))
    });
    if !aws_ok {
        problems.push(format!("secrets/{host}.age: signal-server/aws.env does not hold the bundle's cdn.accessKey/cdn.accessSecret"));
    }
    let dynamo_ok = secrets
        .get("dynamo/credentials.json")
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .is_some_and(|v| {
            v["accessKeys"].as_array().is_some_and(|keys| {
                keys.iter().any(|k| {
                    k["accessKeyId"] == key_id.as_str() && k["secretAccessKey"] == secret.as_str()
                })
            })
        });
    if !dynamo_ok {
        problems.push(format!("secrets/{host}.age: dynamo/credentials.json does not hold the bundle's cdn.accessKey/cdn.accessSecret"));
    }
}
