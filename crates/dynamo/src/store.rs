//! Items in PostgreSQL: key encoding, the per-key advisory lock that serialises writers, reads,
//! and writes that keep secondary index entries and TTL expiry in step with the item.

use deadpool_postgres::GenericClient;
use dynamo_model::{AttributeValue, DynamoError, ErrorKind, Item, item_from_json, item_to_json};
use tokio_postgres::Statement;
use tokio_postgres::error::SqlState;

use crate::catalog::{KeyAttribute, TableMeta};
use crate::error::internal;

/// Maps a PostgreSQL failure to the error DynamoDB would give: lock or serialization
/// conflicts are TransactionConflict, everything else an internal error (the SDKs retry those).
pub fn db_error(error: tokio_postgres::Error) -> DynamoError {
    match error.code() {
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::LOCK_NOT_AVAILABLE => {
            DynamoError::new(ErrorKind::TransactionConflict, "Transaction is ongoing for the item")
        }
        _ => internal(format!("database: {error}")),
    }
}

pub fn pool_error(error: deadpool_postgres::PoolError) -> DynamoError {
    internal(format!("database unavailable: {error}"))
}

/// A primary key as stored: order-preserving encodings of the partition and sort key values
/// (the sort key is empty for tables without one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoredKey {
    pub pk: Vec<u8>,
    pub sk: Vec<u8>,
}

pub fn encode_key_value(value: &AttributeValue) -> Vec<u8> {
    dynamo_model::encode_sort_key(value)
}

/// FNV-1a: stable across builds and processes, so several server instances agree on lock ids
/// and scan segments.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain((part.len() as u32).to_le_bytes().iter()) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// Scan segments split the partition-key hash space [0, SEGMENT_SPACE).
pub const SEGMENT_SPACE: i64 = 1 << 24;

pub fn segment_of(pk: &[u8]) -> i32 {
    (fnv1a(&[pk]) % SEGMENT_SPACE as u64) as i32
}

/// Advisory lock id of one item.
pub fn lock_id(table_id: i64, key: &StoredKey) -> i64 {
    fnv1a(&[&table_id.to_le_bytes(), &key.pk, &key.sk]) as i64
}

/// The stored key of a `Key` parameter, which must name exactly the key attributes.
pub fn key_from_key_map(meta: &TableMeta, key: &Item) -> Result<StoredKey, DynamoError> {
    dynamo_model::validate_key(key, meta.hash.as_model(), meta.range.as_ref().map(KeyAttribute::as_model))?;
    Ok(stored_key(meta, key))
}

/// The stored key of a full item (PutItem), with PutItem's messages for missing key attributes.
pub fn key_from_item(meta: &TableMeta, item: &Item) -> Result<StoredKey, DynamoError> {
    dynamo_model::validate_item_key(item, meta.hash.as_model(), meta.range.as_ref().map(KeyAttribute::as_model))?;
    Ok(stored_key(meta, item))
}

/// Encodes the key of an item whose key attributes are already validated.
pub fn stored_key(meta: &TableMeta, item: &Item) -> StoredKey {
    let pk = item.get(&meta.hash.name).map(encode_key_value).unwrap_or_default();
    let sk = meta.range.as_ref().and_then(|r| item.get(&r.name)).map(encode_key_value).unwrap_or_default();
    StoredKey { pk, sk }
}

/// Just the primary key attributes of an item.
pub fn key_attributes(meta: &TableMeta, item: &Item) -> Item {
    let mut key = Item::new();
    for attribute in std::iter::once(&meta.hash).chain(meta.range.iter()) {
        if let Some(value) = item.get(&attribute.name) {
            key.insert(attribute.name.clone(), value.clone());
        }
    }
    key
}

pub fn encode_item(item: &Item) -> Vec<u8> {
    serde_json::to_vec(&item_to_json(item)).expect("JSON values serialize")
}

pub fn decode_item(bytes: &[u8]) -> Result<Item, DynamoError> {
    let json: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| internal(format!("stored item is not JSON: {e}")))?;
    item_from_json(&json).map_err(|e| internal(format!("stored item is invalid: {e}")))
}

/// One secondary index entry of an item: index id, encoded index partition and sort key.
pub type IndexEntry = (i32, Vec<u8>, Vec<u8>);

/// Index entries (index id, index partition key, index sort key) the item belongs in. Items
/// lacking an index key attribute are not in that index (sparse indexes).
pub fn index_entries(meta: &TableMeta, item: &Item) -> Result<Vec<IndexEntry>, DynamoError> {
    let mut entries = Vec::new();
    'indexes: for index in &meta.indexes {
        let mut encoded = Vec::with_capacity(2);
        for attribute in std::iter::once(&index.hash).chain(index.range.iter()) {
            let Some(value) = item.get(&attribute.name) else { continue 'indexes };
            if value.value_type() != attribute.value_type {
                return Err(DynamoError::invalid_parameter(format!(
                    "Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {}",
                    attribute.name,
                    attribute.value_type,
                    value.value_type(),
                    index.name
                )));
            }
            if matches!(value, AttributeValue::S(s) if s.is_empty()) || matches!(value, AttributeValue::B(b) if b.is_empty()) {
                return Err(DynamoError::validation(format!(
                    "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty {} value. IndexName: {}, IndexKey: {}",
                    if attribute.value_type == dynamo_model::ValueType::S { "string" } else { "binary" },
                    index.name,
                    attribute.name
                )));
            }
            encoded.push(encode_key_value(value));
        }
        let isk = if encoded.len() == 2 { encoded.pop().expect("two entries") } else { Vec::new() };
        let ipk = encoded.pop().expect("hash key encoded");
        entries.push((index.id, ipk, isk));
    }
    Ok(entries)
}

/// Epoch seconds at which the item expires, when the table has TTL enabled and the item a
/// numeric TTL attribute.
pub fn expiry_of(meta: &TableMeta, item: &Item) -> Option<i64> {
    let name = meta.definition.ttl_attribute.as_ref()?;
    match item.get(name)? {
        AttributeValue::N(n) => n.to_i64().or_else(|| Some(n.to_f64() as i64)),
        _ => None,
    }
}

pub(crate) const LOCK_SQL: &str = "SELECT pg_advisory_xact_lock($1)";
const TRY_LOCK_SQL: &str = "SELECT id FROM unnest($1::bigint[]) AS id WHERE NOT pg_try_advisory_xact_lock(id)";
const READ_SQL: &str = "SELECT item FROM dynamo_items WHERE table_id = $1 AND pk = $2 AND sk = $3";
const UPSERT_SQL: &str = "INSERT INTO dynamo_items (table_id, pk, sk, segment, expires_at, item) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (table_id, pk, sk) DO UPDATE SET item = EXCLUDED.item, expires_at = EXCLUDED.expires_at";
const DELETE_SQL: &str = "DELETE FROM dynamo_items WHERE table_id = $1 AND pk = $2 AND sk = $3";
const DELETE_ENTRIES_SQL: &str = "DELETE FROM dynamo_index_entries WHERE table_id = $1 AND pk = $2 AND sk = $3";
const INSERT_ENTRIES_SQL: &str = "INSERT INTO dynamo_index_entries (table_id, index_id, ipk, isk, pk, sk)
     SELECT $1, e.index_id, e.ipk, e.isk, $2, $3
     FROM unnest($4::integer[], $5::bytea[], $6::bytea[]) AS e(index_id, ipk, isk)";

/// The statements item reads and writes use, prepared (and cached) on one connection. With
/// them at hand, queries are sent the moment their futures are first polled, so several can
/// be pipelined in a known order.
pub struct Statements {
    lock: Statement,
    try_lock: Statement,
    read: Statement,
    upsert: Statement,
    delete: Statement,
    delete_entries: Statement,
    insert_entries: Statement,
}

impl Statements {
    pub async fn prepare(client: &impl GenericClient) -> Result<Statements, DynamoError> {
        let prepare = |sql| client.prepare_cached(sql);
        let (lock, try_lock, read, upsert, delete, delete_entries, insert_entries) = tokio::try_join!(
            prepare(LOCK_SQL),
            prepare(TRY_LOCK_SQL),
            prepare(READ_SQL),
            prepare(UPSERT_SQL),
            prepare(DELETE_SQL),
            prepare(DELETE_ENTRIES_SQL),
            prepare(INSERT_ENTRIES_SQL)
        )
        .map_err(db_error)?;
        Ok(Statements { lock, try_lock, read, upsert, delete, delete_entries, insert_entries })
    }

    /// Takes the item's write lock for the rest of the PostgreSQL transaction.
    pub async fn lock(&self, client: &impl GenericClient, meta: &TableMeta, key: &StoredKey) -> Result<(), DynamoError> {
        client.execute(&self.lock, &[&lock_id(meta.id, key)]).await.map_err(db_error)?;
        Ok(())
    }

    /// Tries to take the write locks of all `ids` without waiting; returns which ones failed.
    pub async fn try_lock_all(&self, client: &impl GenericClient, ids: &[i64]) -> Result<Vec<i64>, DynamoError> {
        let rows = client.query(&self.try_lock, &[&ids]).await.map_err(db_error)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub async fn read(&self, client: &impl GenericClient, meta: &TableMeta, key: &StoredKey) -> Result<Option<Item>, DynamoError> {
        read_with(client, &self.read, meta, key).await
    }

    /// Stores `item` under `key` (or deletes the key when `item` is None) with its index
    /// entries. All statements are sent on the first poll, in order.
    pub async fn write(&self, client: &impl GenericClient, meta: &TableMeta, key: &StoredKey, item: Option<&Item>) -> Result<(), DynamoError> {
        let entries = match item {
            Some(item) => index_entries(meta, item)?,
            None => Vec::new(),
        };
        let bytes = item.map(encode_item);
        let expires = item.and_then(|item| expiry_of(meta, item));
        let segment = segment_of(&key.pk);
        let ids: Vec<i32> = entries.iter().map(|e| e.0).collect();
        let ipks: Vec<&[u8]> = entries.iter().map(|e| e.1.as_slice()).collect();
        let isks: Vec<&[u8]> = entries.iter().map(|e| e.2.as_slice()).collect();
        let item_write = async {
            match &bytes {
                Some(bytes) => client.execute(&self.upsert, &[&meta.id, &key.pk, &key.sk, &segment, &expires, bytes]).await,
                None => client.execute(&self.delete, &[&meta.id, &key.pk, &key.sk]).await,
            }
        };
        let indexed = !meta.indexes.is_empty();
        let clear_entries = async {
            if indexed {
                client.execute(&self.delete_entries, &[&meta.id, &key.pk, &key.sk]).await
            } else {
                Ok(0)
            }
        };
        let add_entries = async {
            if !ids.is_empty() {
                client.execute(&self.insert_entries, &[&meta.id, &key.pk, &key.sk, &ids, &ipks, &isks]).await
            } else {
                Ok(0)
            }
        };
        tokio::try_join!(item_write, clear_entries, add_entries).map_err(db_error)?;
        Ok(())
    }
}

/// Reads one item outside of a write (GetItem): prepares just the read statement.
pub async fn read(client: &impl GenericClient, meta: &TableMeta, key: &StoredKey) -> Result<Option<Item>, DynamoError> {
    let statement = client.prepare_cached(READ_SQL).await.map_err(db_error)?;
    read_with(client, &statement, meta, key).await
}

async fn read_with(client: &impl GenericClient, statement: &Statement, meta: &TableMeta, key: &StoredKey) -> Result<Option<Item>, DynamoError> {
    let row = client.query_opt(statement, &[&meta.id, &key.pk, &key.sk]).await.map_err(db_error)?;
    row.map(|r| decode_item(r.get(0))).transpose()
}

/// Runs the futures concurrently on one connection: all are polled, in order, so their
/// queries go out pipelined in that order; the results come back in the same order.
pub async fn pipelined<F, T>(futures: impl IntoIterator<Item = F>) -> Result<Vec<T>, DynamoError>
where
    F: std::future::Future<Output = Result<T, DynamoError>>,
{
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future finished")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored rows depend on these values (scan segments) and running instances must agree on
    /// them (locks): they must never change. Expected values computed independently (Python).
    #[test]
    fn segment_and_lock_ids_are_stable() {
        let key = StoredKey { pk: b"partition".to_vec(), sk: b"sort".to_vec() };
        assert_eq!(segment_of(&key.pk), 7_984_896);
        assert_eq!(lock_id(7, &key), -4_688_511_980_978_108_775);
        assert!((0..SEGMENT_SPACE as i32).contains(&segment_of(b"")));
    }
}
