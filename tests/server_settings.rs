//! The Signal-Server configuration that `modules/lib/server-settings.nix` (and the dynamic
//! configuration from `modules/lib/dynamic-config.nix`) produce for the demo org `hosts/example`,
//! evaluated with the real `nix-instantiate` and checked against the pinned server's required
//! sections, the org's real (age-encrypted) secrets bundle and a list of vendor hosts.
//!
//! Another org can be checked with `SWEETLIES_ORG_DIR=hosts/<org>
//! SWEETLIES_ORG_IDENTITY=<its admin or host .agekey>`.

mod common;

use common::{decrypt, private_copy, repo_root};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const REQUIRED_SECTIONS: &str = include_str!("data/server-config-sections.txt");
const INERT_BUNDLE_KEYS: &str = include_str!("data/secrets-bundle-inert.txt");
const BUNDLE_PATH: &str = sweetlies_appliance::bundle::SECRETS_FILE;

/// Hosts (or host suffixes) of the cloud vendors Sweet Lies replaces.
const VENDOR_HOSTS: &[&str] = &[
    "amazonaws.com",
    "amazon.com",
    "aws",
    "google.com",
    "googleapis.com",
    "gstatic.com",
    "cloudflare.com",
    "cloudflare",
    "twilio.com",
    "apple.com",
    "icloud.com",
    "datadoghq.com",
    "datadoghq.eu",
    "stripe.com",
    "braintreegateway.com",
    "paypal.com",
    "coingecko.com",
    "fixer.io",
    "hlrlookup.com",
    "signal.org",
    "mobilecoin.com",
    "hcaptcha.com",
    "sentry.io",
];

struct OrgUnderTest {
    dir: PathBuf,
    org: Value,
    host_name: String,
    identity: PathBuf,
}

fn org_under_test() -> OrgUnderTest {
    let dir = std::env::var_os("SWEETLIES_ORG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("hosts/example"));
    let dir = std::fs::canonicalize(&dir).unwrap_or_else(|err| {
        panic!(
            "{}: {err}; the demo org is written by `sweetlies-appliance new example --seed` \
             (set SWEETLIES_ORG_DIR to check another org)",
            dir.display()
        )
    });
    let org: Value =
        serde_json::from_slice(&read(&dir.join("org.json"))).expect("org.json is JSON");
    let host_name = org["hosts"][0]["name"]
        .as_str()
        .expect("org.json hosts[0].name")
        .to_owned();
    let identity = std::env::var_os("SWEETLIES_ORG_IDENTITY")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            repo_root().join(format!("checks/fixtures/example/hosts/{host_name}.agekey"))
        });
    OrgUnderTest {
        dir,
        org,
        host_name,
        identity,
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

/// `None` (after a loud message) when nix-instantiate is missing outside CI; in CI a missing
/// nix-instantiate is an error, because these checks are the only proof of the pure Nix code.
fn nix_instantiate() -> Option<&'static str> {
    match Command::new("nix-instantiate").arg("--version").output() {
        Ok(output) if output.status.success() => Some("nix-instantiate"),
        _ if std::env::var_os("CI").is_some() => panic!(
            "nix-instantiate is not installed but CI is set: run checks/install-deps.sh \
             (Debian package nix-bin) before the test suite"
        ),
        _ => {
            // Written to the stream directly: the test harness captures eprintln!.
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!!!!!\n!!! SKIPPED tests/server_settings.rs: nix-instantiate is not installed \
                 (apt-get install nix-bin). CI runs these checks.\n!!!!!!!!\n"
            );
            None
        }
    }
}

/// Evaluates `expr`, a function of `{ repo, orgDir, hostName }`, to JSON; `Err(stderr)` on failure.
fn evaluate(nix: &str, org: &OrgUnderTest, expr: &str) -> Result<Value, String> {
    let output = Command::new(nix)
        // Pure evaluation needs no Nix store (a normal user has no daemon here).
        .env("NIX_REMOTE", "dummy://")
        .args(["--eval", "--strict", "--json", "--argstr", "repo"])
        .arg(repo_root())
        .arg("--argstr")
        .arg("orgDir")
        .arg(&org.dir)
        .args(["--argstr", "hostName", &org.host_name, "--expr", expr])
        .output()
        .expect("run nix-instantiate");
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&output.stdout).expect("nix-instantiate --json prints JSON"))
}

const ORG_ARGS: &str = r#"
  org = builtins.fromJSON (builtins.readFile (/. + orgDir + "/org.json"));
  public = builtins.fromJSON (builtins.readFile (/. + orgDir + "/public.json"));
"#;

fn server_settings(nix: &str, org: &OrgUnderTest) -> Value {
    let expr = format!(
        "{{ repo, orgDir, hostName }}: let {ORG_ARGS} in \
         import (/. + repo + \"/modules/lib/server-settings.nix\") {{ inherit org public hostName; }}"
    );
    evaluate(nix, org, &expr)
        .unwrap_or_else(|stderr| panic!("server-settings.nix failed:\n{stderr}"))
}

fn dynamic_config(nix: &str, org: &OrgUnderTest) -> Value {
    let expr = format!(
        "{{ repo, orgDir, hostName }}: let {ORG_ARGS} in \
         import (/. + repo + \"/modules/lib/dynamic-config.nix\") {{ inherit org; }}"
    );
    evaluate(nix, org, &expr)
        .unwrap_or_else(|stderr| panic!("dynamic-config.nix failed:\n{stderr}"))
}

/// The decrypted secrets bundle of the org's first host: key -> value.
fn secrets_bundle(org: &OrgUnderTest) -> BTreeMap<String, String> {
    // A private copy: the committed fixture identity is checked out 0644, which the loader refuses.
    let identity_dir = tempfile::tempdir().unwrap();
    let identity = private_copy(&org.identity, identity_dir.path());
    let secrets = decrypt(
        &org.dir.join(format!("secrets/{}.age", org.host_name)),
        &identity,
    );
    let bundle_text = secrets
        .get(BUNDLE_PATH)
        .unwrap_or_else(|| panic!("secrets file has no files.{BUNDLE_PATH}"));
    let bundle: BTreeMap<String, serde_yaml::Value> =
        serde_yaml::from_str(bundle_text).expect("secrets bundle is a flat YAML map");
    bundle
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                serde_yaml::Value::String(text) => text,
                other => serde_yaml::to_string(&other).expect("re-serialise scalar"),
            };
            (key, text)
        })
        .collect()
}

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| strings(item, out)),
        Value::Object(map) => map.values().for_each(|item| strings(item, out)),
        _ => {}
    }
}

fn secret_references(settings: &Value) -> BTreeSet<String> {
    let mut all = Vec::new();
    strings(settings, &mut all);
    all.iter()
        .filter_map(|s| s.strip_prefix("secret://"))
        .map(str::to_owned)
        .collect()
}

/// The host part of every `scheme://host[:port]/…` and `turn(s):host:port` in the value.
fn url_hosts(settings: &Value) -> BTreeSet<String> {
    let mut all = Vec::new();
    strings(settings, &mut all);
    let mut hosts = BTreeSet::new();
    for text in &all {
        let rest = if let Some((scheme, rest)) = text.split_once("://") {
            if scheme == "secret"
                || scheme == "file"
                || !scheme.chars().all(|c| c.is_ascii_alphanumeric())
            {
                continue;
            }
            rest
        } else if let Some(rest) = text
            .strip_prefix("turn:")
            .or_else(|| text.strip_prefix("turns:"))
        {
            rest
        } else {
            continue;
        };
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let host_port = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let host = host_port.split(':').next().unwrap_or_default();
        hosts.insert(host.to_ascii_lowercase());
    }
    hosts
}

fn required_sections() -> Vec<(&'static str, bool)> {
    REQUIRED_SECTIONS
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next().expect("section name");
            (name, words.next() == Some("defaulted"))
        })
        .collect()
}

#[test]
fn every_required_section_of_the_pinned_server_is_present() {
    let Some(nix) = nix_instantiate() else { return };
    let org = org_under_test();
    let settings = server_settings(nix, &org);
    let sections = required_sections();
    assert!(
        sections.len() > 50,
        "test data lists the server's required sections"
    );
    let missing: Vec<_> = sections
        .iter()
        .filter(|(name, defaulted)| !defaulted && settings.get(name).is_none_or(Value::is_null))
        .map(|(name, _)| *name)
        .collect();
    assert!(
        missing.is_empty(),
        "required sections missing from server-settings.nix: {missing:?}"
    );
}

#[test]
fn every_secret_reference_is_in_the_bundle_and_every_bundle_key_is_used_or_inert() {
    let Some(nix) = nix_instantiate() else { return };
    let org = org_under_test();
    let references = secret_references(&server_settings(nix, &org));
    let bundle = secrets_bundle(&org);
    let inert: BTreeMap<&str, &str> = INERT_BUNDLE_KEYS
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            line.split_once(char::is_whitespace)
                .map(|(k, r)| (k, r.trim()))
                .expect("key and reason")
        })
        .collect();

    let dangling: Vec<_> = references
        .iter()
        .filter(|key| !bundle.contains_key(*key))
        .collect();
    assert!(
        dangling.is_empty(),
        "secret:// references absent from {BUNDLE_PATH}: {dangling:?}"
    );

    let unaccounted: Vec<_> = bundle
        .keys()
        .filter(|key| !references.contains(*key) && !inert.contains_key(key.as_str()))
        .collect();
    assert!(
        unaccounted.is_empty(),
        "bundle keys neither referenced nor listed as inert: {unaccounted:?}"
    );

    let used_but_inert: Vec<_> = inert
        .keys()
        .filter(|key| references.contains(**key))
        .collect();
    assert!(
        used_but_inert.is_empty(),
        "keys listed as inert but referenced: {used_but_inert:?}"
    );
    let stale: Vec<_> = inert
        .keys()
        .filter(|key| !bundle.contains_key(**key))
        .collect();
    assert!(
        stale.is_empty(),
        "inert list names keys the bundle does not have: {stale:?}"
    );
    assert!(
        inert.values().all(|reason| !reason.is_empty()),
        "every inert key has a reason"
    );
}

#[test]
fn no_secret_value_is_written_into_the_configuration() {
    let Some(nix) = nix_instantiate() else { return };
    let org = org_under_test();
    let rendered = server_settings(nix, &org).to_string() + &dynamic_config(nix, &org).to_string();
    let leaked: Vec<_> = secrets_bundle(&org)
        .into_iter()
        .filter(|(_, value)| value.trim().len() >= 16 && rendered.contains(value.trim()))
        .map(|(key, _)| key)
        .collect();
    assert!(
        leaked.is_empty(),
        "secret values copied into the (world-readable) configuration: {leaked:?}"
    );
}

#[test]
fn no_value_points_at_a_vendor_and_every_host_is_the_orgs_own_or_inert() {
    let Some(nix) = nix_instantiate() else { return };
    let org = org_under_test();
    let settings = server_settings(nix, &org);
    let dynamic = dynamic_config(nix, &org);

    let mut all = Vec::new();
    strings(&settings, &mut all);
    strings(&dynamic, &mut all);
    // `secret://` references name bundle keys (upstream's, e.g. turn.cloudflare.apiToken), not hosts.
    let vendor_mentions: Vec<_> = all
        .iter()
        .filter(|text| !text.starts_with("secret://"))
        .filter(|text| {
            let lower = text.to_ascii_lowercase();
            VENDOR_HOSTS.iter().any(|vendor| {
                lower
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                    .any(|word| {
                        word == *vendor
                            || word.ends_with(&format!(".{vendor}"))
                            || word.contains(&format!("{vendor}."))
                    })
            })
        })
        .collect();
    assert!(
        vendor_mentions.is_empty(),
        "values naming vendor hosts: {vendor_mentions:?}"
    );

    let org_names: BTreeSet<String> = org.org["services"]
        .as_object()
        .expect("org.json services")
        .values()
        .map(|name| {
            name.as_str()
                .expect("service host name")
                .to_ascii_lowercase()
        })
        .chain(
            org.org["hosts"]
                .as_array()
                .expect("hosts")
                .iter()
                .map(|h| h["name"].as_str().unwrap().to_owned()),
        )
        .collect();
    let hosts = url_hosts(&settings);
    assert!(!hosts.is_empty(), "the configuration names endpoints");
    let foreign: Vec<_> = hosts
        .iter()
        .filter(|host| {
            !(org_names.contains(*host)
                || host.as_str() == "127.0.0.1"
                || host.as_str() == "%s"
                || host.as_str() == "localhost"
                || host.ends_with(".localhost")
                || host.ends_with(".invalid"))
        })
        .collect();
    assert!(
        foreign.is_empty(),
        "endpoints outside the org, loopback and *.invalid: {foreign:?}"
    );
}

#[test]
fn dynamic_config_enables_grpc_and_sends_attachments_to_cdn3() {
    let Some(nix) = nix_instantiate() else { return };
    let org = org_under_test();
    let dynamic = dynamic_config(nix, &org);
    assert_eq!(dynamic["grpcAllowList"]["enableAll"], Value::Bool(true));
    let expected = org.org["features"]
        .get("cdn3Percentage")
        .cloned()
        .unwrap_or(Value::from(100));
    assert_eq!(
        dynamic["experiments"]["cdn3"]["enrollmentPercentage"],
        expected
    );
    assert!(
        dynamic["captcha"]["scoreFloor"].is_string(),
        "captcha.scoreFloor is @NotNull upstream"
    );
}

#[test]
fn server_endpoints_are_the_local_stand_ins() {
    let Some(nix) = nix_instantiate() else { return };
    let org = org_under_test();
    let settings = server_settings(nix, &org);
    for section in ["/pagedSingleUseKEMPreKeyStore", "/cdn", "/dynamicConfig"] {
        let endpoint = settings
            .pointer(&format!("{section}/endpointOverride"))
            .and_then(Value::as_str);
        assert_eq!(
            endpoint,
            Some("http://s3.localhost:3900"),
            "{section} goes to Garage"
        );
    }
    let turn_endpoint = settings
        .pointer("/turn/cloudflare/endpoint")
        .and_then(Value::as_str)
        .unwrap();
    assert!(
        turn_endpoint.starts_with("http://127.0.0.1:8090/"),
        "TURN credentials come from the local shim"
    );
    assert_eq!(
        settings.pointer("/openTelemetry/enabled"),
        Some(&Value::Bool(false))
    );
    // Upstream's stubs (patches/signal-server/0001) instead of Google Pub/Sub, Fixer/CoinGecko
    // and the registration service.
    for section in [
        "/braintree/pubSubPublisher",
        "/callQualitySurvey/pubSubPublisher",
        "/paymentsService/externalClients",
        "/registrationService",
    ] {
        let kind = settings
            .pointer(&format!("{section}/type"))
            .and_then(Value::as_str);
        assert_eq!(kind, Some("stub"), "{section}");
    }
    assert_eq!(
        settings
            .pointer("/awsCredentialsProvider/type")
            .and_then(Value::as_str),
        Some("static")
    );
}

#[test]
fn an_org_from_a_newer_schema_is_refused_with_instructions() {
    let Some(nix) = nix_instantiate() else { return };
    let org = org_under_test();
    let expr = "{ repo, orgDir, hostName }: \
        let org = builtins.fromJSON (builtins.readFile (/. + orgDir + \"/org.json\")); in \
        (import (/. + repo + \"/modules/lib/topology.nix\") { org = org // { schemaVersion = 99; }; inherit hostName; }).roles";
    let stderr = evaluate(nix, &org, expr).expect_err("schemaVersion 99 must not evaluate");
    assert!(
        stderr.contains("update the Sweet Lies checkout"),
        "unhelpful error: {stderr}"
    );

    let expr = "{ repo, orgDir, hostName }: \
        let org = builtins.fromJSON (builtins.readFile (/. + orgDir + \"/org.json\")); in \
        (import (/. + repo + \"/modules/lib/topology.nix\") { inherit org; hostName = \"nope-9\"; }).roles";
    let stderr = evaluate(nix, &org, expr).expect_err("an unknown host must not evaluate");
    assert!(
        stderr.contains("set services.sweetlies.hostName"),
        "unhelpful error: {stderr}"
    );
}

#[test]
fn every_configured_dynamodb_table_is_created_with_a_valid_key_schema() {
    let Some(nix) = nix_instantiate() else { return };
    let org = org_under_test();
    let settings = server_settings(nix, &org);
    let expr = format!(
        "{{ repo, orgDir, hostName }}: let {ORG_ARGS} \
         settings = import (/. + repo + \"/modules/lib/server-settings.nix\") {{ inherit org public hostName; }}; in \
         import (/. + repo + \"/modules/lib/dynamo-tables.nix\") {{ inherit (settings) dynamoDbTables; }}"
    );
    let tables = evaluate(nix, &org, &expr)
        .unwrap_or_else(|stderr| panic!("dynamo-tables.nix failed:\n{stderr}"));
    let tables = tables.as_array().expect("a list of CreateTable requests");

    fn table_names(value: &Value, out: &mut BTreeSet<String>) {
        if let Value::Object(map) = value {
            for (key, item) in map {
                match item {
                    Value::String(name) if key.ends_with("ableName") => {
                        out.insert(name.clone());
                    }
                    _ => table_names(item, out),
                }
            }
        }
    }
    let mut configured = BTreeSet::new();
    table_names(&settings["dynamoDbTables"], &mut configured);
    let created: Vec<String> = tables
        .iter()
        .map(|t| t["TableName"].as_str().unwrap().to_owned())
        .collect();
    let created_set: BTreeSet<String> = created.iter().cloned().collect();
    assert_eq!(created.len(), created_set.len(), "a table is created twice");
    assert_eq!(
        configured, created_set,
        "configured tables and created tables differ"
    );
    assert_eq!(created.len(), 33, "the pinned server configures 33 tables");

    // DynamoDB's CreateTable rules: every key attribute is defined, every definition is a key of
    // the table or of an index, types are S/N/B.
    for table in tables {
        let name = table["TableName"].as_str().unwrap();
        let defined: BTreeMap<&str, &str> = table["AttributeDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["AttributeName"].as_str().unwrap(),
                    d["AttributeType"].as_str().unwrap(),
                )
            })
            .collect();
        let mut keys: Vec<&str> = table["KeySchema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["AttributeName"].as_str().unwrap())
            .collect();
        assert_eq!(
            table["KeySchema"][0]["KeyType"], "HASH",
            "{name}: first key is the hash key"
        );
        for index in table["GlobalSecondaryIndexes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            keys.extend(
                index["KeySchema"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k["AttributeName"].as_str().unwrap()),
            );
        }
        for key in &keys {
            assert!(
                defined.contains_key(key),
                "{name}: key {key} has no attribute definition"
            );
        }
        for (attribute, kind) in &defined {
            assert!(
                keys.contains(attribute),
                "{name}: attribute {attribute} is defined but no key uses it"
            );
            assert!(
                ["S", "N", "B"].contains(kind),
                "{name}: {attribute} has type {kind}"
            );
        }
    }
}

#[test]
fn the_vm_test_inputs_evaluate() {
    let Some(nix) = nix_instantiate() else { return };
    let org = org_under_test();
    let fixtures = std::env::var_os("SWEETLIES_ORG_IDENTITY")
        .map(|identity| {
            PathBuf::from(identity)
                .parent()
                .and_then(Path::parent)
                .unwrap()
                .to_owned()
        })
        .unwrap_or_else(|| repo_root().join("checks/fixtures/example"));
    let expr = format!(
        "{{ repo, orgDir, hostName }}: let inputs = import (/. + repo + \"/modules/lib/appliance-inputs.nix\") \
         {{ orgDir = /. + orgDir; fixturesDir = /. + \"{}\"; }}; in \
         inputs // {{ identity = toString inputs.identity; secretsFile = toString inputs.secretsFile; }}",
        fixtures.display()
    );
    let inputs = evaluate(nix, &org, &expr)
        .unwrap_or_else(|stderr| panic!("appliance-inputs.nix failed:\n{stderr}"));
    assert_eq!(inputs["hostName"].as_str(), Some(org.host_name.as_str()));
    for file in ["identity", "secretsFile"] {
        let path = PathBuf::from(inputs[file].as_str().unwrap());
        assert!(
            path.is_file(),
            "the VM test needs {file} at {}",
            path.display()
        );
    }
    assert_eq!(inputs["tableNames"].as_array().map(Vec::len), Some(33));
    assert!(
        inputs["orgCaCertificate"]
            .as_str()
            .is_some_and(|pem| pem.contains("BEGIN CERTIFICATE"))
    );
}

/// Environment variables modules/server.nix exports from the unit's credentials for Dropwizard's
/// substitution (strict: an unset one stops the server).
const SUBSTITUTED_VARIABLES: &[&str] = &["VALKEY_PASSWORD", "KT_CLIENT_CERTIFICATE"];

#[test]
fn every_environment_substitution_is_provided_by_the_unit() {
    let Some(nix) = nix_instantiate() else { return };
    let org = org_under_test();
    let rendered = server_settings(nix, &org).to_string();
    let mut used = BTreeSet::new();
    for (index, _) in rendered.match_indices("${") {
        let name: String = rendered[index + 2..]
            .chars()
            .take_while(|c| *c != '}')
            .collect();
        used.insert(name);
    }
    let provided: BTreeSet<String> = SUBSTITUTED_VARIABLES
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(
        used, provided,
        "${{…}} in the configuration vs variables the launcher exports"
    );
    let server_module = std::fs::read_to_string(repo_root().join("modules/server.nix")).unwrap();
    let exported: BTreeSet<&str> = server_module
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("export "))
        .flat_map(str::split_whitespace)
        .collect();
    for variable in SUBSTITUTED_VARIABLES {
        assert!(
            exported.contains(variable),
            "modules/server.nix does not export {variable}"
        );
    }
}
