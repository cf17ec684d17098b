//! Background deletion of items whose TTL attribute lies in the past. Like DynamoDB, expiry is
//! eventual: an expired item stays readable until a sweep removes it.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::state::State;
use crate::store::{self, StoredKey};

/// Items deleted per PostgreSQL transaction, so a sweep never holds many locks for long.
const BATCH: i64 = 500;

pub async fn sweep_forever(state: Arc<State>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        match sweep_once(&state).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "TTL sweep removed expired items"),
            Err(e) => tracing::warn!(error = %e, "TTL sweep failed; retrying next interval"),
        }
    }
}

/// Deletes every item expired by now; returns how many.
pub async fn sweep_once(state: &State) -> Result<u64, dynamo_model::DynamoError> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let mut client = state.pool.get().await.map_err(store::pool_error)?;
    let tables = client
        .query("SELECT name FROM dynamo_tables WHERE definition ? 'TtlAttribute' AND definition->>'TtlAttribute' IS NOT NULL", &[])
        .await
        .map_err(store::db_error)?;
    // Idempotency tokens only matter for their lifetime.
    client
        .execute(
            "DELETE FROM dynamo_transaction_tokens WHERE created_at < now() - make_interval(secs => $1)",
            &[&(crate::ops::transact::TOKEN_LIFETIME_SECONDS as f64)],
        )
        .await
        .map_err(store::db_error)?;
    let statements = store::Statements::prepare(&client).await?;
    let still_expired = client
        .prepare_cached("SELECT 1 FROM dynamo_items WHERE table_id = $1 AND pk = $2 AND sk = $3 AND expires_at < $4")
        .await
        .map_err(store::db_error)?;
    let mut deleted = 0;
    for row in tables {
        let name: String = row.get(0);
        let Ok(meta) = state.catalog.get(&client, &name).await else { continue };
        loop {
            let transaction = client.transaction().await.map_err(store::db_error)?;
            let candidates = transaction
                .query(
                    "SELECT pk, sk FROM dynamo_items WHERE table_id = $1 AND expires_at IS NOT NULL AND expires_at < $2 LIMIT $3",
                    &[&meta.id, &now, &BATCH],
                )
                .await
                .map_err(store::db_error)?;
            if candidates.is_empty() {
                break;
            }
            let count = candidates.len() as i64;
            for candidate in candidates {
                let key = StoredKey { pk: candidate.get(0), sk: candidate.get(1) };
                statements.lock(&transaction, &meta, &key).await?;
                // Re-check under the lock: a concurrent write may have extended the TTL.
                let expired = transaction
                    .query_opt(&still_expired, &[&meta.id, &key.pk, &key.sk, &now])
                    .await
                    .map_err(store::db_error)?;
                if expired.is_some() {
                    statements.write(&transaction, &meta, &key, None).await?;
                    deleted += 1;
                }
            }
            transaction.commit().await.map_err(store::db_error)?;
            if count < BATCH {
                break;
            }
        }
    }
    Ok(deleted)
}
