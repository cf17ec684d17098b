//! The shapes of `hosts/<org>/org.json` and `public.json` (docs/org-spec.md), with the
//! `schemaVersion` gate: a file written for another schema is refused with instructions
//! instead of being half-understood.

use crate::names::{validate_dns_label, validate_fqdn};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

pub const SCHEMA_VERSION: u32 = 1;

/// Upstream versions a new org is pinned to (the flake builds exactly these).
pub const SIGNAL_SERVER_VERSION: &str = "v20260820.3.0";
pub const SIGNAL_SERVER_REV: &str = "218a1cd75f41d6412333854c94c43ff9a96882df";
pub const LIBSIGNAL_VERSION: &str = "v0.101.0";

/// Public hostnames, one per service (`<service>.<domain>` unless overridden).
pub const SERVICE_NAMES: [&str; 7] = ["chat", "storage", "cdn", "cdn3", "sfu", "turn", "s3"];

#[derive(Debug, Error)]
pub enum SpecError {
    #[error("{file} is not valid JSON: {source}")]
    Json {
        file: &'static str,
        source: serde_json::Error,
    },
    #[error("{file} has no numeric \"schemaVersion\"; it was not written by sweetlies-appliance")]
    MissingSchemaVersion { file: &'static str },
    #[error(
        "{file} has schemaVersion {found}, this sweetlies-appliance understands {SCHEMA_VERSION}: {hint}"
    )]
    UnsupportedSchemaVersion {
        file: &'static str,
        found: u64,
        hint: &'static str,
    },
    #[error("{file} does not match schemaVersion {SCHEMA_VERSION}: {source}")]
    Shape {
        file: &'static str,
        source: serde_json::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrgSpec {
    pub schema_version: u32,
    pub org: String,
    pub domain: String,
    pub demo: bool,
    pub services: BTreeMap<String, String>,
    pub hosts: Vec<HostSpec>,
    pub features: Features,
    pub federation: Federation,
    pub upstream: Upstream,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostSpec {
    pub name: String,
    pub roles: Vec<Role>,
    pub age_recipient: String,
}

/// Roles in the order org.json lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Chat,
    Dynamo,
    Postgresql,
    Valkey,
    Foundationdb,
    Garage,
    Edge,
    Turn,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Chat,
        Role::Dynamo,
        Role::Postgresql,
        Role::Valkey,
        Role::Foundationdb,
        Role::Garage,
        Role::Edge,
        Role::Turn,
    ];
    /// Stateful services run on every host so that they can form a cluster.
    const CLUSTERED: [Role; 4] = [
        Role::Postgresql,
        Role::Valkey,
        Role::Foundationdb,
        Role::Garage,
    ];
    /// Stateless services are spread round-robin over the hosts.
    const SPREAD: [Role; 4] = [Role::Chat, Role::Dynamo, Role::Edge, Role::Turn];
}

/// Roles of host `index` (0-based) among `host_count` hosts; see docs/org-spec.md.
pub fn roles_for_host(index: usize, host_count: usize) -> Vec<Role> {
    let mut roles: Vec<Role> = Role::CLUSTERED.to_vec();
    roles.extend(
        Role::SPREAD
            .iter()
            .enumerate()
            .filter(|(i, _)| i % host_count == index)
            .map(|(_, r)| *r),
    );
    roles.sort();
    roles
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Features {
    pub registration: Registration,
    pub push: Push,
    pub cdn3_percentage: u8,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            registration: Registration::Invite,
            push: Push::Websocket,
            cdn3_percentage: 100,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    Invite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Push {
    Websocket,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Federation {
    pub peers: Vec<FederationPeer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FederationPeer {
    pub org: String,
    pub domain: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Upstream {
    pub signal_server: PinnedRev,
    pub libsignal: PinnedVersion,
}

impl Upstream {
    pub fn pinned() -> Self {
        Upstream {
            signal_server: PinnedRev {
                version: SIGNAL_SERVER_VERSION.into(),
                rev: SIGNAL_SERVER_REV.into(),
            },
            libsignal: PinnedVersion {
                version: LIBSIGNAL_VERSION.into(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PinnedRev {
    pub version: String,
    pub rev: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PinnedVersion {
    pub version: String,
}

/// Everything public clients and peers need (safe to publish).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublicSpec {
    pub schema_version: u32,
    pub org: String,
    pub domain: String,
    pub demo: bool,
    pub urls: BTreeMap<String, String>,
    pub server_trust_root: String,
    pub unidentified_delivery_certificate: String,
    pub zkgroup_server_public_params: String,
    pub generic_server_public_params: String,
    pub backup_server_public_params: String,
    pub org_ca_certificate: String,
}

impl OrgSpec {
    pub fn host(&self, name: &str) -> Option<&HostSpec> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// Parses org.json, refusing other schema versions, then checks its invariants.
    pub fn from_json(text: &str) -> Result<Self, SpecError> {
        let spec: OrgSpec = parse_versioned("org.json", text)?;
        let problems = spec.problems();
        if problems.is_empty() {
            Ok(spec)
        } else {
            Err(SpecError::Invalid(problems.join("; ")))
        }
    }

    /// Every violated invariant, one sentence each.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = validate_dns_label("org", &self.org) {
            problems.push(e.to_string());
        }
        if let Err(e) = validate_fqdn(&self.domain) {
            problems.push(e.to_string());
        }
        for service in SERVICE_NAMES {
            match self.services.get(service) {
                None => problems.push(format!("services.{service} is missing")),
                Some(host) => {
                    if let Err(e) = validate_fqdn(host) {
                        problems.push(format!("services.{service}: {e}"));
                    }
                }
            }
        }
        for extra in self
            .services
            .keys()
            .filter(|k| !SERVICE_NAMES.contains(&k.as_str()))
        {
            problems.push(format!(
                "services.{extra} is not a known service (known: {})",
                SERVICE_NAMES.join(", ")
            ));
        }
        if self.hosts.is_empty() {
            problems.push("hosts is empty: an org needs at least one host".into());
        }
        for (i, host) in self.hosts.iter().enumerate() {
            let expected = format!("{}-{}", self.org, i + 1);
            if host.name != expected {
                problems.push(format!(
                    "hosts[{i}].name is {:?}, expected {expected:?}",
                    host.name
                ));
            }
            if host
                .age_recipient
                .parse::<age::x25519::Recipient>()
                .is_err()
            {
                problems.push(format!(
                    "hosts[{i}].ageRecipient is not an age X25519 recipient (age1…)"
                ));
            }
            let mut sorted = host.roles.clone();
            sorted.sort();
            sorted.dedup();
            if sorted != host.roles {
                problems.push(format!(
                    "hosts[{i}].roles must be sorted and without duplicates"
                ));
            }
        }
        for role in Role::ALL {
            if !self.hosts.iter().any(|h| h.roles.contains(&role)) {
                problems.push(format!(
                    "no host has the role {role:?}; every role must run somewhere"
                ));
            }
        }
        if self.features.cdn3_percentage > 100 {
            problems.push("features.cdn3Percentage must be between 0 and 100".into());
        }
        problems
    }
}

impl PublicSpec {
    pub fn from_json(text: &str) -> Result<Self, SpecError> {
        parse_versioned("public.json", text)
    }
}

fn parse_versioned<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<T, SpecError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|source| SpecError::Json { file, source })?;
    let version = value
        .get("schemaVersion")
        .and_then(serde_json::Value::as_u64)
        .ok_or(SpecError::MissingSchemaVersion { file })?;
    if version != u64::from(SCHEMA_VERSION) {
        let hint = if version > u64::from(SCHEMA_VERSION) {
            "upgrade sweetlies-appliance (the org was written by a newer one)"
        } else {
            "migrate the org with a sweetlies-appliance release that knows both versions (see docs/org-spec.md)"
        };
        return Err(SpecError::UnsupportedSchemaVersion {
            file,
            found: version,
            hint,
        });
    }
    serde_json::from_value(value).map_err(|source| SpecError::Shape { file, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_host_gets_every_role() {
        assert_eq!(roles_for_host(0, 1), Role::ALL.to_vec());
    }

    #[test]
    fn many_hosts_cluster_stateful_roles_and_spread_the_rest() {
        for n in 2..=6 {
            let all: Vec<Vec<Role>> = (0..n).map(|i| roles_for_host(i, n)).collect();
            for roles in &all {
                for r in Role::CLUSTERED {
                    assert!(roles.contains(&r));
                }
            }
            for r in Role::SPREAD {
                let count = all.iter().filter(|roles| roles.contains(&r)).count();
                assert_eq!(count, 1, "{r:?} with {n} hosts");
            }
        }
        assert_eq!(
            roles_for_host(1, 2),
            vec![
                Role::Dynamo,
                Role::Postgresql,
                Role::Valkey,
                Role::Foundationdb,
                Role::Garage,
                Role::Turn
            ]
        );
    }

    #[test]
    fn schema_gate() {
        let err = OrgSpec::from_json(r#"{"schemaVersion": 2, "org": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("schemaVersion 2"), "{err}");
        assert!(
            err.to_string().contains("upgrade sweetlies-appliance"),
            "{err}"
        );
        let err = OrgSpec::from_json(r#"{"org": "x"}"#).unwrap_err();
        assert!(matches!(err, SpecError::MissingSchemaVersion { .. }));
        let err = OrgSpec::from_json(r#"{"schemaVersion": 1, "org": "x"}"#).unwrap_err();
        assert!(matches!(err, SpecError::Shape { .. }), "{err}");
    }
}
