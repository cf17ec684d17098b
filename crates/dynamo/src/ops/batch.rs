//! BatchGetItem and BatchWriteItem. Each write of a batch is atomic on its own, as in DynamoDB;
//! writes whose item is locked by a concurrent writer are not waited for but handed back in
//! `UnprocessedItems` for the client to retry (what DynamoDB does when it throttles).

use std::collections::HashSet;
use std::sync::Arc;

use dynamo_model::{DynamoError, Item, Projection, item_to_json};
use serde_json::{Map, Value, json};

use super::item::table;
use super::{OpenTransaction, expression_attributes, optional_str, reject_legacy};
use crate::catalog::TableMeta;
use crate::error::ApiError;
use crate::state::State;
use crate::store::{self, StoredKey, db_error, pool_error};

const MAX_GET_KEYS: usize = 100;
const MAX_WRITES: usize = 25;
/// BatchGetItem returns at most this much; further keys come back as UnprocessedKeys.
const MAX_GET_BYTES: usize = 16 * 1024 * 1024;

fn request_items(input: &Value) -> Result<&Map<String, Value>, DynamoError> {
    match input.get("RequestItems") {
        Some(Value::Object(map)) if !map.is_empty() => Ok(map),
        Some(Value::Object(_)) => Err(DynamoError::validation(
            "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
        )),
        _ => Err(DynamoError::validation(
            "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null",
        )),
    }
}

fn duplicates() -> DynamoError {
    DynamoError::validation("Provided list of item keys contains duplicates")
}

pub async fn batch_get_item(state: &State, input: &Value) -> Result<Value, ApiError> {
    let requests = request_items(input)?;
    struct TableRead<'a> {
        name: &'a str,
        meta: Arc<TableMeta>,
        body: &'a Value,
        keys: Vec<(&'a Value, StoredKey)>,
        projection: Option<Projection>,
    }
    let mut reads = Vec::new();
    let mut total = 0;
    for (name, body) in requests {
        reject_legacy(body, &["AttributesToGet"])?;
        let meta = table(state, name).await?;
        let keys_json = body.get("Keys").and_then(Value::as_array).ok_or_else(|| {
            DynamoError::validation("1 validation error detected: Value null at 'requestItems.keys' failed to satisfy constraint: Member must not be null")
        })?;
        let mut attributes = expression_attributes(body)?;
        let projection = optional_str(body, "ProjectionExpression")?.map(|t| attributes.projection(t)).transpose()?;
        attributes.finish()?;
        let mut seen = HashSet::new();
        let mut keys = Vec::new();
        for key_json in keys_json {
            let key = dynamo_model::item_from_json(key_json)?;
            let stored = store::key_from_key_map(&meta, &key)?;
            if !seen.insert(stored.clone()) {
                return Err(duplicates().into());
            }
            keys.push((key_json, stored));
        }
        total += keys.len();
        reads.push(TableRead { name, meta, body, keys, projection });
    }
    if total > MAX_GET_KEYS {
        return Err(DynamoError::validation("Too many items requested for the BatchGetItem call").into());
    }
    let client = state.pool.get().await.map_err(pool_error)?;
    let statement = client
        .prepare_cached(
            "SELECT i.pk, i.sk, i.item FROM dynamo_items i
             JOIN unnest($2::bytea[], $3::bytea[]) AS k(pk, sk) ON i.pk = k.pk AND i.sk = k.sk
             WHERE i.table_id = $1",
        )
        .await
        .map_err(db_error)?;
    let mut responses = Map::new();
    let mut unprocessed = Map::new();
    let mut bytes = 0;
    for read in reads {
        let pks: Vec<&[u8]> = read.keys.iter().map(|(_, k)| k.pk.as_slice()).collect();
        let sks: Vec<&[u8]> = read.keys.iter().map(|(_, k)| k.sk.as_slice()).collect();
        let rows = client.query(&statement, &[&read.meta.id, &pks, &sks]).await.map_err(db_error)?;
        let mut items = Vec::new();
        let mut left = Vec::new();
        let mut found = std::collections::HashMap::new();
        for row in rows {
            found.insert(StoredKey { pk: row.get(0), sk: row.get(1) }, store::decode_item(row.get(2))?);
        }
        for (key_json, key) in &read.keys {
            let Some(item) = found.remove(key) else { continue };
            let size = dynamo_model::item_size(&item);
            if bytes + size > MAX_GET_BYTES {
                left.push(Value::clone(key_json));
                continue;
            }
            bytes += size;
            let item = match &read.projection {
                Some(projection) => projection.apply(&item),
                None => item,
            };
            items.push(item_to_json(&item));
        }
        responses.insert(read.name.to_owned(), Value::Array(items));
        if !left.is_empty() {
            let mut body = read.body.clone();
            body["Keys"] = Value::Array(left);
            unprocessed.insert(read.name.to_owned(), body);
        }
    }
    Ok(json!({ "Responses": responses, "UnprocessedKeys": unprocessed }))
}

pub async fn batch_write_item(state: &State, input: &Value) -> Result<Value, ApiError> {
    let requests = request_items(input)?;
    struct Write<'a> {
        table: &'a str,
        meta: Arc<TableMeta>,
        request: &'a Value,
        key: StoredKey,
        item: Option<Item>,
    }
    let mut writes = Vec::new();
    let mut seen = HashSet::new();
    for (name, list) in requests {
        let meta = table(state, name).await?;
        let list = list.as_array().ok_or_else(|| DynamoError::serialization("Unexpected value type in payload"))?;
        for request in list {
            let (key, item) = if let Some(put) = request.get("PutRequest") {
                let item = dynamo_model::item_from_json(put.get("Item").unwrap_or(&Value::Null))?;
                let key = store::key_from_item(&meta, &item)?;
                dynamo_model::check_item_size(&item)?;
                store::index_entries(&meta, &item)?;
                (key, Some(item))
            } else if let Some(delete) = request.get("DeleteRequest") {
                let key = dynamo_model::item_from_json(delete.get("Key").unwrap_or(&Value::Null))?;
                (store::key_from_key_map(&meta, &key)?, None)
            } else {
                return Err(DynamoError::validation(
                    "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
                )
                .into());
            };
            if !seen.insert((meta.id, key.clone())) {
                return Err(duplicates().into());
            }
            writes.push(Write { table: name, meta: meta.clone(), request, key, item });
        }
    }
    if writes.is_empty() || writes.len() > MAX_WRITES {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to {MAX_WRITES}, Member must have length greater than or equal to 1]"
        ))
        .into());
    }
    let mut ids: Vec<i64> = writes.iter().map(|w| store::lock_id(w.meta.id, &w.key)).collect();
    ids.sort_unstable();
    let (transaction, statements) = OpenTransaction::start(state).await?;
    let client = transaction.client();
    let mut unprocessed: Map<String, Value> = Map::new();
    // Two round trips: BEGIN with the locks, then the writes with COMMIT. The writes touch
    // distinct items; their index entries were checked above, so only PostgreSQL can fail
    // one, and it then turns the COMMIT behind them into a rollback.
    let outcome = async {
        let (_, busy) = tokio::try_join!(transaction.command("BEGIN"), statements.try_lock_all(client, &ids))?;
        let mut locked = Vec::with_capacity(writes.len());
        for write in &writes {
            if busy.contains(&store::lock_id(write.meta.id, &write.key)) {
                let entry = unprocessed.entry(write.table).or_insert_with(|| Value::Array(Vec::new()));
                entry.as_array_mut().expect("array").push(write.request.clone());
                continue;
            }
            locked.push(statements.write(client, &write.meta, &write.key, write.item.as_ref()));
        }
        tokio::try_join!(store::pipelined(locked), transaction.command("COMMIT")).map(drop)
    }
    .await;
    transaction.settle(outcome).await?;
    Ok(json!({ "UnprocessedItems": unprocessed }))
}
