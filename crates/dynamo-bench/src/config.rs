//! Command-line flags, validated into a [`BenchConfig`] before any request is sent.

use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::time::Duration;


use crate::workload::Operation;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid --target `{0}`: expected NAME=URL, e.g. moto=http://127.0.0.1:5000")]
    TargetSyntax(String),
    #[error("invalid --target URL `{url}`: {reason}")]
    TargetUrl { url: String, reason: String },
    #[error(
        "--target {url} resolves to {address}, which is not a loopback address: this benchmark only drives \
         servers on this machine (127.0.0.0/8, ::1, localhost)"
    )]
    NotLoopback { url: String, address: String },
    #[error("two --target flags are named `{0}`: give each target its own name")]
    DuplicateTarget(String),
    #[error("--baseline `{0}` names no --target")]
    UnknownBaseline(String),
    #[error(
        "unknown operation `{0}`: choose from GetItem, PutItem, Query, UpdateItem, TransactWriteItems"
    )]
    UnknownOperation(String),
    #[error("invalid --{0}: {1}")]
    Invalid(&'static str, String),
    #[error(transparent)]
    Credentials(#[from] sweetlies_dynamo::ConfigError),
    #[error(
        "no credentials: pass --credentials-file FILE (the server's accessKeys file) or set AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY"
    )]
    NoCredentials,
}

/// Raw flags.
#[derive(Debug, clap::Parser)]
#[command(
    name = "sweetlies-dynamo-bench",
    about = "Runs the same Signal-like DynamoDB workload against each target and prints ops/s, p50 and p99 \
             side by side with the throughput ratio to the baseline"
)]
pub struct Args {
    /// A server to drive, as NAME=URL (repeat for each; loopback addresses only).
    #[arg(long = "target", required = true)]
    pub targets: Vec<String>,
    /// Target whose throughput the others are divided by (default: the last --target).
    #[arg(long)]
    pub baseline: Option<String>,
    /// Operations to run, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "GetItem,PutItem,Query,UpdateItem,TransactWriteItems"
    )]
    pub operations: Vec<String>,
    /// Concurrent clients, comma-separated; each count is one run per operation.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub clients: Vec<usize>,
    /// Measured seconds per (operation, clients) run.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Unmeasured seconds before each run (connections, caches).
    #[arg(long, default_value_t = 0.5)]
    pub warmup_seconds: f64,
    /// A run also ends after this many measured operations.
    #[arg(long, default_value_t = 200_000)]
    pub max_ops: u64,
    /// Prefix of the benchmark's tables; they are dropped and recreated on every target.
    #[arg(long, default_value = "bench")]
    pub table_prefix: String,
    /// JSON file {"accessKeys":[{"accessKeyId":"…","secretAccessKey":"…"}]}; the first key signs
    /// every request. Without it AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are used.
    #[arg(long)]
    pub credentials_file: Option<PathBuf>,
    /// From AWS_ACCESS_KEY_ID (never a flag: secrets stay out of argv).
    #[arg(skip)]
    pub access_key_id: Option<String>,
    /// From AWS_SECRET_ACCESS_KEY.
    #[arg(skip)]
    pub secret_access_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub name: String,
    pub endpoint: String,
}

#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub targets: Vec<Target>,
    pub baseline: String,
    pub operations: Vec<Operation>,
    pub clients: Vec<usize>,
    pub measure: Duration,
    pub warmup: Duration,
    pub max_ops: u64,
    pub table_prefix: String,
    pub credentials: Credentials,
}

/// Upper bounds that keep one invocation short whatever the flags say.
const MAX_SECONDS_PER_RUN: f64 = 120.0;
const MAX_CLIENTS: usize = 1024;

impl BenchConfig {
    pub fn from_args(args: Args) -> Result<BenchConfig, ConfigError> {
        let mut targets: Vec<Target> = Vec::new();
        for raw in &args.targets {
            let target = parse_target(raw)?;
            if targets.iter().any(|t| t.name == target.name) {
                return Err(ConfigError::DuplicateTarget(target.name));
            }
            targets.push(target);
        }
        let baseline = match args.baseline {
            Some(name) if targets.iter().any(|t| t.name == name) => name,
            Some(name) => return Err(ConfigError::UnknownBaseline(name)),
            None => targets
                .last()
                .expect("clap requires one --target")
                .name
                .clone(),
        };
        let operations = args
            .operations
            .iter()
            .map(|name| {
                name.parse::<Operation>()
                    .map_err(|_| ConfigError::UnknownOperation(name.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if args.clients.is_empty() || args.clients.iter().any(|&c| c == 0 || c > MAX_CLIENTS) {
            return Err(ConfigError::Invalid(
                "clients",
                format!("each count must be 1..={MAX_CLIENTS}"),
            ));
        }
        let measure = seconds("seconds", args.seconds, 0.1)?;
        let warmup = seconds("warmup-seconds", args.warmup_seconds, 0.0)?;
        if args.max_ops == 0 {
            return Err(ConfigError::Invalid("max-ops", "must be at least 1".into()));
        }
        if args.table_prefix.is_empty()
            || !args
                .table_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(ConfigError::Invalid(
                "table-prefix",
                "use letters, digits, `_`, `-` or `.`".into(),
            ));
        }
        let credentials = match (
            &args.credentials_file,
            args.access_key_id,
            args.secret_access_key,
        ) {
            (Some(path), _, _) => read_credentials(path)?,
            (None, Some(access_key_id), Some(secret_access_key)) => Credentials {
                access_key_id,
                secret_access_key,
            },
            _ => return Err(ConfigError::NoCredentials),
        };
        Ok(BenchConfig {
            targets,
            baseline,
            operations,
            clients: args.clients,
            measure,
            warmup,
            max_ops: args.max_ops,
            table_prefix: args.table_prefix,
            credentials,
        })
    }
}

fn seconds(flag: &'static str, value: f64, min: f64) -> Result<Duration, ConfigError> {
    if !(min..=MAX_SECONDS_PER_RUN).contains(&value) {
        return Err(ConfigError::Invalid(
            flag,
            format!("must be between {min} and {MAX_SECONDS_PER_RUN} seconds"),
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

/// `NAME=URL` whose host resolves to loopback addresses only.
pub fn parse_target(raw: &str) -> Result<Target, ConfigError> {
    let (name, endpoint) = raw
        .split_once('=')
        .ok_or_else(|| ConfigError::TargetSyntax(raw.into()))?;
    if name.is_empty() || endpoint.is_empty() {
        return Err(ConfigError::TargetSyntax(raw.into()));
    }
    let url_error = |reason: String| ConfigError::TargetUrl {
        url: endpoint.into(),
        reason,
    };
    let url = url::Url::parse(endpoint).map_err(|e| url_error(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(url_error("the scheme must be http or https".into()));
    }
    let host = url
        .host_str()
        .ok_or_else(|| url_error("it has no host".into()))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| url_error("it has no port".into()))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| url_error(e.to_string()))?
        .collect();
    if addresses.is_empty() {
        return Err(url_error("the host resolves to no address".into()));
    }
    if let Some(outside) = addresses.iter().find(|a| !a.ip().is_loopback()) {
        return Err(ConfigError::NotLoopback {
            url: endpoint.into(),
            address: outside.ip().to_string(),
        });
    }
    Ok(Target {
        name: name.into(),
        endpoint: endpoint.trim_end_matches('/').into(),
    })
}

/// The server's own credentials file, read by the server's own reader; the first key signs.
fn read_credentials(path: &Path) -> Result<Credentials, ConfigError> {
    let (access_key_id, secret_access_key) = sweetlies_dynamo::config::read_access_key_pairs(path)?
        .into_iter()
        .next()
        .expect("read_access_key_pairs refuses an empty list");
    Ok(Credentials {
        access_key_id,
        secret_access_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> Args {
        let mut args = Args::parse_from(std::iter::once(&"bench").chain(extra));
        args.access_key_id = Some("AKID".into());
        args.secret_access_key = Some("insecure-test-secret".into());
        args
    }

    #[test]
    fn loopback_targets_are_accepted_and_others_refused() {
        assert_eq!(
            parse_target("moto=http://127.0.0.1:5000/").unwrap(),
            Target {
                name: "moto".into(),
                endpoint: "http://127.0.0.1:5000".into()
            }
        );
        assert!(parse_target("v6=http://[::1]:8000").is_ok());
        assert!(parse_target("local=http://localhost:8000").is_ok());
        assert!(matches!(
            parse_target("far=http://192.0.2.1:8000"),
            Err(ConfigError::NotLoopback { .. })
        ));
        assert!(matches!(
            parse_target("lan=http://10.1.2.3:8000"),
            Err(ConfigError::NotLoopback { .. })
        ));
        assert!(matches!(
            parse_target("http://127.0.0.1:8000"),
            Err(ConfigError::TargetSyntax(_))
        ));
        assert!(matches!(
            parse_target("x=127.0.0.1:8000"),
            Err(ConfigError::TargetUrl { .. })
        ));
        assert!(matches!(
            parse_target("nourl"),
            Err(ConfigError::TargetSyntax(_))
        ));
        assert!(matches!(
            parse_target("ftp=ftp://127.0.0.1/"),
            Err(ConfigError::TargetUrl { .. })
        ));
    }

    #[test]
    fn defaults_cover_the_issue_workload_with_the_last_target_as_baseline() {
        let config = BenchConfig::from_args(args(&[
            "--target",
            "a=http://127.0.0.1:1",
            "--target",
            "b=http://127.0.0.1:2",
        ]))
        .unwrap();
        assert_eq!(config.baseline, "b");
        assert_eq!(config.clients, vec![1, 16, 64]);
        assert_eq!(config.operations, Operation::ALL.to_vec());
        assert_eq!(config.measure, Duration::from_secs(5));
    }

    #[test]
    fn bad_flags_are_refused_with_the_flag_named() {
        let bad = |extra: &[&str]| {
            let mut all = vec!["--target", "a=http://127.0.0.1:1"];
            all.extend_from_slice(extra);
            BenchConfig::from_args(args(&all)).unwrap_err().to_string()
        };
        assert!(bad(&["--baseline", "zzz"]).contains("zzz"));
        assert!(bad(&["--clients", "0"]).contains("--clients"));
        assert!(bad(&["--seconds", "1000"]).contains("--seconds"));
        assert!(bad(&["--operations", "Scan"]).contains("Scan"));
        assert!(bad(&["--target", "a=http://127.0.0.1:2"]).contains("two --target"));
    }

    #[test]
    fn credentials_come_from_the_servers_file_format() {
        let dir = std::env::temp_dir().join(format!("dynamo-bench-creds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials.json");
        std::fs::write(
            &path,
            r#"{"accessKeys":[{"accessKeyId":"AKIDFILE","secretAccessKey":"insecure-test"}]}"#,
        )
        .unwrap();
        let credentials = read_credentials(&path).unwrap();
        assert_eq!(credentials.access_key_id, "AKIDFILE");
        assert!(
            !format!("{credentials:?}").contains("insecure-test"),
            "Debug must not print the secret"
        );
        std::fs::write(&path, r#"{"accessKeys":[]}"#).unwrap();
        assert!(
            read_credentials(&path)
                .unwrap_err()
                .to_string()
                .contains("accessKeys is empty")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
