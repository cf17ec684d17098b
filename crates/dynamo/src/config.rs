//! Command-line flags, environment and config file, validated into a [`Config`] before anything
//! starts. Precedence: flag, then environment variable, then config file, then default.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid JSON of the expected shape: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("missing setting `{0}`: pass --{0} (or set SWEETLIES_DYNAMO_{1}, or put it in the --config file)")]
    Missing(&'static str, &'static str),
    #[error("invalid --database connection string: {0} (expected postgres://user@host/db or key=value pairs)")]
    Database(tokio_postgres::Error),
    #[error("{path}: accessKeys is empty: add {{\"accessKeys\":[{{\"accessKeyId\":\"…\",\"secretAccessKey\":\"…\"}}]}}")]
    NoAccessKeys { path: PathBuf },
    #[error("{path}: access key entry {index} has an empty accessKeyId or secretAccessKey")]
    EmptyAccessKey { path: PathBuf, index: usize },
    #[error("invalid --{0}: {1}")]
    Invalid(&'static str, String),
}

/// Raw settings as given on the command line or in the environment.
#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// JSON config file with any of: listen, database, databasePasswordFile, credentialsFile,
    /// poolSize, ttlSweepIntervalSeconds, workerThreads.
    #[arg(long, env = "SWEETLIES_DYNAMO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8000.
    #[arg(long, env = "SWEETLIES_DYNAMO_LISTEN")]
    pub listen: Option<String>,
    /// PostgreSQL connection string (postgres://user@host/db, or host=/run/postgresql dbname=…).
    #[arg(long, env = "SWEETLIES_DYNAMO_DATABASE")]
    pub database: Option<String>,
    /// File holding the PostgreSQL password (kept out of the connection string).
    #[arg(long, env = "SWEETLIES_DYNAMO_DATABASE_PASSWORD_FILE")]
    pub database_password_file: Option<PathBuf>,
    /// JSON file {"accessKeys":[{"accessKeyId":"…","secretAccessKey":"…"}]} of accepted keys.
    #[arg(long, env = "SWEETLIES_DYNAMO_CREDENTIALS_FILE")]
    pub credentials_file: Option<PathBuf>,
    /// Maximum number of PostgreSQL connections.
    #[arg(long, env = "SWEETLIES_DYNAMO_POOL_SIZE")]
    pub pool_size: Option<usize>,
    /// Seconds between two sweeps that delete items whose TTL has passed.
    #[arg(long, env = "SWEETLIES_DYNAMO_TTL_SWEEP_INTERVAL_SECONDS")]
    pub ttl_sweep_interval_seconds: Option<u64>,
    /// Request-handling threads (default: one per CPU core).
    #[arg(long, env = "SWEETLIES_DYNAMO_WORKER_THREADS")]
    pub worker_threads: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    database: Option<String>,
    database_password_file: Option<PathBuf>,
    credentials_file: Option<PathBuf>,
    pool_size: Option<usize>,
    ttl_sweep_interval_seconds: Option<u64>,
    worker_threads: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialsFile {
    access_keys: Vec<AccessKeyEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessKeyEntry {
    access_key_id: String,
    secret_access_key: String,
}

/// Reads the org spec's `dynamo/credentials.json`: its (access key id, secret access key)
/// pairs in file order, none empty. Clients of the server (the benchmark) read it here too.
pub fn read_access_key_pairs(path: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    let text = std::fs::read(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    let file: CredentialsFile =
        serde_json::from_slice(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })?;
    if file.access_keys.is_empty() {
        return Err(ConfigError::NoAccessKeys { path: path.into() });
    }
    file.access_keys
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            if entry.access_key_id.is_empty() || entry.secret_access_key.is_empty() {
                Err(ConfigError::EmptyAccessKey { path: path.into(), index })
            } else {
                Ok((entry.access_key_id, entry.secret_access_key))
            }
        })
        .collect()
}

/// Access key id → secret access key.
#[derive(Clone, Default)]
pub struct AccessKeys(HashMap<String, String>);

impl AccessKeys {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        AccessKeys(pairs.into_iter().collect())
    }

    pub fn secret(&self, access_key_id: &str) -> Option<&str> {
        self.0.get(access_key_id).map(String::as_str)
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Ok(AccessKeys::new(read_access_key_pairs(path)?))
    }
}

impl std::fmt::Debug for AccessKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets never reach logs.
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database: tokio_postgres::Config,
    pub access_keys: AccessKeys,
    pub pool_size: usize,
    pub ttl_sweep_interval: Duration,
    pub worker_threads: Option<usize>,
}

impl Config {
    pub fn from_args(args: Args) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read(path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
                serde_json::from_slice(&text).map_err(|source| ConfigError::Parse { path: path.clone(), source })?
            }
            None => FileSettings::default(),
        };
        let listen = args.listen.or(file.listen).ok_or(ConfigError::Missing("listen", "LISTEN"))?;
        let listen = SocketAddr::from_str(&listen)
            .map_err(|e| ConfigError::Invalid("listen", format!("{listen:?}: {e} (expected IP:PORT)")))?;
        let database = args.database.or(file.database).ok_or(ConfigError::Missing("database", "DATABASE"))?;
        let mut database = tokio_postgres::Config::from_str(&database).map_err(ConfigError::Database)?;
        if let Some(path) = args.database_password_file.or(file.database_password_file) {
            let password =
                std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
            database.password(password.trim_end_matches(['\n', '\r']));
        }
        if database.get_application_name().is_none() {
            database.application_name("sweetlies-dynamo");
        }
        let credentials = args
            .credentials_file
            .or(file.credentials_file)
            .ok_or(ConfigError::Missing("credentials-file", "CREDENTIALS_FILE"))?;
        let access_keys = AccessKeys::load(&credentials)?;
        let pool_size = args.pool_size.or(file.pool_size).unwrap_or(32);
        if pool_size == 0 {
            return Err(ConfigError::Invalid("pool-size", "must be at least 1".into()));
        }
        let sweep = args.ttl_sweep_interval_seconds.or(file.ttl_sweep_interval_seconds).unwrap_or(60);
        if sweep == 0 {
            return Err(ConfigError::Invalid("ttl-sweep-interval-seconds", "must be at least 1".into()));
        }
        let worker_threads = args.worker_threads.or(file.worker_threads);
        if worker_threads == Some(0) {
            return Err(ConfigError::Invalid("worker-threads", "must be at least 1".into()));
        }
        Ok(Config {
            worker_threads,
            listen,
            database,
            access_keys,
            pool_size,
            ttl_sweep_interval: Duration::from_secs(sweep),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, contents: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sweetlies-dynamo-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn flags_override_the_config_file() {
        let credentials = temp_file("credentials.json", r#"{"accessKeys":[{"accessKeyId":"AKID","secretAccessKey":"insecure-test"}]}"#);
        let config_file = temp_file(
            "config.json",
            &format!(
                r#"{{"listen":"127.0.0.1:9000","database":"host=/run/postgresql dbname=d","credentialsFile":"{}","poolSize":4}}"#,
                credentials.display()
            ),
        );
        let config = Config::from_args(Args { config: Some(config_file.clone()), ..Args::default() }).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.pool_size, 4);
        assert_eq!(config.access_keys.secret("AKID"), Some("insecure-test"));
        let config = Config::from_args(Args {
            config: Some(config_file),
            listen: Some("127.0.0.1:9001".into()),
            ..Args::default()
        })
        .unwrap();
        assert_eq!(config.listen.port(), 9001);
    }

    #[test]
    fn missing_and_bad_settings_say_what_to_do() {
        let error = Config::from_args(Args::default()).unwrap_err();
        assert!(error.to_string().contains("--listen"), "{error}");
        let empty = temp_file("empty-credentials.json", r#"{"accessKeys":[]}"#);
        let error = Config::from_args(Args {
            listen: Some("127.0.0.1:1".into()),
            database: Some("host=/tmp".into()),
            credentials_file: Some(empty),
            ..Args::default()
        })
        .unwrap_err();
        assert!(matches!(error, ConfigError::NoAccessKeys { .. }), "{error}");
    }
}
