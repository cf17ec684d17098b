//! Test harness: a throwaway PostgreSQL from the system's binaries (initdb in a temp dir, Unix
//! socket only; as root it runs as the `postgres` system user), and sweetlies-dynamo servers
//! pointed at it, driven by the official AWS SDK.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

use aws_sdk_dynamodb::config::{Credentials, Region};

pub const ACCESS_KEY_ID: &str = "AKIDSWEETLIESTEST";
/// Insecure test-only secret.
pub const SECRET_ACCESS_KEY: &str = "test-only-insecure-secret-key";

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// The newest /usr/lib/postgresql/<version>/bin, or a panic naming the package to install.
fn postgres_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/<version>/bin: \
             install the Debian package `postgresql` (apt-get install postgresql)"
        ),
    }
}

/// A PostgreSQL cluster living in a temp dir; it is stopped and removed when the test process
/// exits (the watchdog shell sees its stdin close).
pub struct Postgres {
    pub dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    watchdog: std::sync::Mutex<(Child, ChildStdin)>,
}

impl Postgres {
    pub fn start() -> Postgres {
        let bin = postgres_bin();
        let as_postgres = is_root();
        // As root the cluster runs as `postgres`, which must be able to reach the directory:
        // /tmp rather than a TMPDIR that may sit under root's private home.
        let base = if as_postgres { PathBuf::from("/tmp") } else { std::env::temp_dir() };
        let dir = base.join(format!("sweetlies-dynamo-pg-{}-{}", std::process::id(), uuid_like()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        if as_postgres {
            let status = Command::new("chown").args(["postgres:postgres"]).arg(&dir).status().expect("run chown");
            assert!(
                status.success(),
                "running as root: initdb/postgres refuse root, so the `postgres` system user must exist \
                 (it comes with the Debian package `postgresql`)"
            );
        }
        let run = if as_postgres { "runuser -u postgres -- " } else { "" };
        let d = dir.display();
        let b = bin.display();
        let options = server_options(&dir);
        let script = format!(
            "set -e
{run}{b}/initdb -D {d}/data -A trust -U postgres --no-sync >{d}/initdb.log 2>&1 || {{ cat {d}/initdb.log >&2; exit 1; }}
{run}{b}/pg_ctl -D {d}/data -l {d}/postgres.log -w -o \"{options}\" start >/dev/null
echo ready
read _ || true
{run}{b}/pg_ctl -D {d}/data -m immediate stop >/dev/null 2>&1 || true
rm -rf {d}
"
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn sh");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line).expect("read watchdog");
        assert_eq!(line.trim(), "ready", "PostgreSQL did not start; see {d}/postgres.log");
        Postgres { dir, bin, as_postgres, watchdog: std::sync::Mutex::new((child, stdin)) }
    }

    pub fn connection_string(&self) -> String {
        format!("host={} user=postgres dbname=postgres", self.dir.display())
    }

    /// Runs pg_ctl with `args` against this cluster (e.g. a restart).
    pub fn pg_ctl(&self, args: &[&str]) {
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let data = self.dir.join("data");
        let status = command.arg("-D").arg(&data).args(args).stdout(Stdio::null()).status().expect("run pg_ctl");
        assert!(status.success(), "pg_ctl {args:?} failed");
    }

    pub fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "-w", "stop"]);
    }

    pub fn start_again(&self) {
        let options = server_options(&self.dir);
        let log = self.dir.join("postgres.log");
        self.pg_ctl(&["-w", "-l", log.to_str().unwrap(), "-o", &options, "start"]);
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut guard = self.watchdog.lock().unwrap();
        let _ = guard.1.write_all(b"stop\n");
        let _ = guard.1.flush();
        let _ = guard.0.wait();
    }
}

/// The cluster's server options: Unix socket in `dir` only, no durability (test data).
fn server_options(dir: &Path) -> String {
    format!("-k {} -c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=300", dir.display())
}

fn uuid_like() -> String {
    format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

/// Writes the credentials file the server reads (insecure test key).
pub fn write_credentials(dir: &Path) -> PathBuf {
    let path = dir.join("credentials.json");
    std::fs::write(
        &path,
        format!(r#"{{"accessKeys":[{{"accessKeyId":"{ACCESS_KEY_ID}","secretAccessKey":"{SECRET_ACCESS_KEY}"}}]}}"#),
    )
    .expect("write credentials");
    path
}

/// Server arguments for a cluster, listening on an ephemeral port.
pub fn server_args(pg: &Postgres, listen: &str) -> Vec<String> {
    vec![
        "--listen".into(),
        listen.into(),
        "--database".into(),
        pg.connection_string(),
        "--credentials-file".into(),
        write_credentials(&pg.dir).display().to_string(),
        "--ttl-sweep-interval-seconds".into(),
        "1".into(),
    ]
}

/// A PostgreSQL cluster and an in-process server shared by all tests of one test binary.
pub struct Shared {
    pub pg: Postgres,
    pub endpoint: String,
}

pub fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let pg = Postgres::start();
        let args = server_args(&pg, "127.0.0.1:0");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().worker_threads(2).build().unwrap();
            runtime.block_on(async move {
                use clap::Parser;
                #[derive(clap::Parser)]
                struct Cli {
                    #[command(flatten)]
                    args: sweetlies_dynamo::Args,
                }
                let cli = Cli::parse_from(std::iter::once("sweetlies-dynamo".to_string()).chain(args));
                let config = sweetlies_dynamo::Config::from_args(cli.args).expect("valid config");
                let server = sweetlies_dynamo::Server::start(config).await.expect("server starts");
                tx.send(server.local_addr()).unwrap();
                server.run().await.unwrap();
            });
        });
        let address = rx.recv().expect("server thread reports its address");
        Shared { pg, endpoint: format!("http://{address}") }
    })
}

pub fn client_for(endpoint: &str) -> aws_sdk_dynamodb::Client {
    client_with(endpoint, ACCESS_KEY_ID, SECRET_ACCESS_KEY)
}

pub fn client_with(endpoint: &str, key: &str, secret: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .endpoint_url(endpoint)
        .region(Region::new("eu-central-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "sweetlies-test"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

pub fn client() -> aws_sdk_dynamodb::Client {
    client_for(&shared().endpoint)
}

/// A table name unique to this test process and call site.
pub fn table_name(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}_{n}")
}

pub use aws_sdk_dynamodb::types::AttributeValue as Av;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, LocalSecondaryIndex, Projection,
    ProjectionType, ScalarAttributeType,
};

pub fn attr(name: &str, t: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder().attribute_name(name).attribute_type(t).build().unwrap()
}

pub fn key(name: &str, t: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder().attribute_name(name).key_type(t).build().unwrap()
}

/// A global secondary index on `hash` holding only the keys.
pub fn keys_only_gsi(index: &str, hash: &str) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(index)
        .key_schema(key(hash, KeyType::Hash))
        .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
        .build()
        .unwrap()
}

/// A local secondary index on (`hash`, `range`) holding whole items.
pub fn all_attributes_lsi(index: &str, hash: &str, range: &str) -> LocalSecondaryIndex {
    LocalSecondaryIndex::builder()
        .index_name(index)
        .key_schema(key(hash, KeyType::Hash))
        .key_schema(key(range, KeyType::Range))
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .unwrap()
}

/// Creates a pay-per-request table with the given hash key and optional range key.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    hash: (&str, ScalarAttributeType),
    range: Option<(&str, ScalarAttributeType)>,
) {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(hash.0, hash.1))
        .key_schema(key(hash.0, KeyType::Hash));
    if let Some((range_name, range_type)) = range {
        request = request.attribute_definitions(attr(range_name, range_type)).key_schema(key(range_name, KeyType::Range));
    }
    request.send().await.expect("CreateTable");
}

pub fn s(text: &str) -> Av {
    Av::S(text.to_owned())
}

pub fn n(text: &str) -> Av {
    Av::N(text.to_owned())
}

pub fn b(bytes: &[u8]) -> Av {
    Av::B(aws_sdk_dynamodb::primitives::Blob::new(bytes.to_vec()))
}

/// The write lock of one item (string hash key, no sort key), taken through PostgreSQL directly
/// the way a concurrent sweetlies-dynamo write holds it.
pub struct HeldItemLock {
    pg: tokio_postgres::Client,
    lock: i64,
}

impl HeldItemLock {
    pub async fn take(table: &str, id: &str) -> HeldItemLock {
        let (pg, connection) = tokio_postgres::connect(&shared().pg.connection_string(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        let table_id: i64 = pg.query_one("SELECT table_id FROM dynamo_tables WHERE name = $1", &[&table]).await.unwrap().get(0);
        let key = sweetlies_dynamo::store::StoredKey { pk: dynamo_model::encode_sort_key(&dynamo_model::AttributeValue::s(id)), sk: vec![] };
        let lock = sweetlies_dynamo::store::lock_id(table_id, &key);
        pg.execute("SELECT pg_advisory_lock($1)", &[&lock]).await.unwrap();
        HeldItemLock { pg, lock }
    }

    pub async fn release(self) {
        self.pg.execute("SELECT pg_advisory_unlock($1)", &[&self.lock]).await.unwrap();
    }
}
