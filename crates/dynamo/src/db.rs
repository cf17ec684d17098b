//! PostgreSQL connection pool and schema. One `dynamo_items` table holds every DynamoDB table's
//! items keyed by (table id, encoded partition key, encoded sort key); secondary indexes live in
//! `dynamo_index_entries` and are maintained in the same PostgreSQL transaction as the item.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot build the PostgreSQL pool: {0}")]
    Pool(#[from] deadpool_postgres::BuildError),
    #[error("cannot reach PostgreSQL after {attempts} attempts: {last}")]
    Unreachable { attempts: u32, last: String },
    #[error("creating the schema failed: {0}")]
    Schema(#[from] tokio_postgres::Error),
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS dynamo_tables (
    table_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    definition jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS dynamo_items (
    table_id bigint NOT NULL,
    pk bytea NOT NULL,
    sk bytea NOT NULL,
    segment integer NOT NULL,
    expires_at bigint,
    item bytea NOT NULL,
    PRIMARY KEY (table_id, pk, sk)
);
CREATE INDEX IF NOT EXISTS dynamo_items_scan ON dynamo_items (table_id, segment, pk, sk);
CREATE INDEX IF NOT EXISTS dynamo_items_expiry ON dynamo_items (table_id, expires_at)
    WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS dynamo_index_entries (
    table_id bigint NOT NULL,
    index_id integer NOT NULL,
    ipk bytea NOT NULL,
    isk bytea NOT NULL,
    pk bytea NOT NULL,
    sk bytea NOT NULL,
    PRIMARY KEY (table_id, index_id, ipk, isk, pk, sk)
);
CREATE INDEX IF NOT EXISTS dynamo_index_entries_base ON dynamo_index_entries (table_id, pk, sk);
CREATE TABLE IF NOT EXISTS dynamo_transaction_tokens (
    token text PRIMARY KEY,
    request_hash bytea NOT NULL,
    response bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"#;

/// Advisory lock id that serialises schema creation between several server instances.
const SCHEMA_LOCK: i64 = 0x5357_4545_5444_594e;

pub async fn connect(config: &tokio_postgres::Config, pool_size: usize) -> Result<Pool, DbError> {
    let manager = Manager::from_config(
        config.clone(),
        NoTls,
        ManagerConfig { recycling_method: RecyclingMethod::Fast },
    );
    let pool = Pool::builder(manager).max_size(pool_size).build()?;
    // PostgreSQL may still be starting (boot ordering, restarts): retry for a while.
    let attempts = 60;
    let mut last = String::new();
    for attempt in 1..=attempts {
        match pool.get().await {
            Ok(client) => {
                client.batch_execute("BEGIN").await?;
                client.query("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]).await?;
                client.batch_execute(SCHEMA).await?;
                client.batch_execute("COMMIT").await?;
                return Ok(pool);
            }
            Err(e) => {
                last = e.to_string();
                tracing::warn!(attempt, error = %last, "PostgreSQL not reachable yet");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    Err(DbError::Unreachable { attempts, last })
}
