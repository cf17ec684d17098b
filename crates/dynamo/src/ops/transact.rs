//! TransactWriteItems and TransactGetItems.
//!
//! A write transaction takes every item's advisory lock without waiting (a lock held by a
//! concurrent writer cancels the transaction with `TransactionConflict`, as DynamoDB does),
//! reads the current versions, checks every condition, and only then writes, all in one
//! PostgreSQL transaction: either every write commits or none does.

use std::collections::HashSet;
use std::sync::Arc;

use dynamo_model::{DynamoError, ErrorKind, Item, Projection, UpdateExpression, item_to_json};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::item::{Guard, parse_update, table, updated_item};
use super::{OpenTransaction, expression_attributes, optional_str, required_item, required_str};
use crate::catalog::TableMeta;
use crate::error::ApiError;
use crate::state::State;
use crate::store::{self, StoredKey, db_error};

const MAX_TRANSACTION_ITEMS: usize = 100;
/// How long a ClientRequestToken makes a repeated request idempotent.
pub const TOKEN_LIFETIME_SECONDS: i64 = 600;

enum Action {
    ConditionCheck,
    Put(Item),
    Update { key: Item, update: Option<UpdateExpression> },
    Delete,
}

struct WriteItem {
    meta: Arc<TableMeta>,
    key: StoredKey,
    guard: Guard,
    action: Action,
}

fn transact_items(input: &Value) -> Result<&Vec<Value>, DynamoError> {
    let items = input
        .get("TransactItems")
        .and_then(Value::as_array)
        .ok_or_else(|| DynamoError::validation("1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null"))?;
    if items.is_empty() || items.len() > MAX_TRANSACTION_ITEMS {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{}' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to {MAX_TRANSACTION_ITEMS} and greater than or equal to 1",
            items.len()
        )));
    }
    Ok(items)
}

async fn parse_write_item(state: &State, entry: &Value) -> Result<WriteItem, DynamoError> {
    let Value::Object(map) = entry else {
        return Err(DynamoError::serialization("Unexpected value type in payload"));
    };
    if map.len() != 1 {
        return Err(DynamoError::validation(
            "TransactItems can only contain one of Check, Put, Update or Delete",
        ));
    }
    let (kind, body) = map.iter().next().expect("one member");
    let meta = table(state, required_str(body, "TableName")?).await?;
    let mut attributes = expression_attributes(body)?;
    let (key, action) = match kind.as_str() {
        "ConditionCheck" => {
            if body.get("ConditionExpression").is_none() {
                return Err(DynamoError::validation(
                    "1 validation error detected: Value null at 'transactItems.1.member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null",
                ));
            }
            let key = store::key_from_key_map(&meta, &required_item(body, "Key")?)?;
            (key, Action::ConditionCheck)
        }
        "Put" => {
            let item = required_item(body, "Item")?;
            let key = store::key_from_item(&meta, &item)?;
            dynamo_model::check_item_size(&item)?;
            store::index_entries(&meta, &item)?;
            (key, Action::Put(item))
        }
        "Update" => {
            let key_item = required_item(body, "Key")?;
            let key = store::key_from_key_map(&meta, &key_item)?;
            let update = parse_update(&meta, body, &mut attributes)?;
            (key, Action::Update { key: key_item, update })
        }
        "Delete" => (store::key_from_key_map(&meta, &required_item(body, "Key")?)?, Action::Delete),
        other => {
            return Err(DynamoError::serialization(format!("Unknown transaction item type {other}")));
        }
    };
    let guard = Guard::parse(body, &mut attributes)?;
    attributes.finish()?;
    Ok(WriteItem { meta, key, guard, action })
}

/// The body members of a TransactionCanceledException.
fn canceled(reasons: Vec<Value>) -> ApiError {
    let codes: Vec<&str> = reasons.iter().map(|r| r["Code"].as_str().unwrap_or("None")).collect();
    let message = format!(
        "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
        codes.join(", ")
    );
    ApiError::from(DynamoError::new(ErrorKind::TransactionCanceled, message)).with("CancellationReasons", Value::Array(reasons))
}

fn reason(error: &DynamoError) -> Value {
    json!({ "Code": error.kind.cancellation_code(), "Message": error.message })
}

pub async fn transact_write_items(state: &State, input: &Value) -> Result<Value, ApiError> {
    let entries = transact_items(input)?;
    let mut items = Vec::with_capacity(entries.len());
    for entry in entries {
        items.push(parse_write_item(state, entry).await?);
    }
    let mut seen = HashSet::new();
    for item in &items {
        if !seen.insert((item.meta.id, item.key.clone())) {
            return Err(DynamoError::validation(
                "Transaction request cannot include multiple operations on one item",
            )
            .into());
        }
    }
    let token = optional_str(input, "ClientRequestToken")?;
    if let Some(token) = token
        && (token.is_empty() || token.len() > 36)
    {
        return Err(DynamoError::validation(
            "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 36",
        )
        .into());
    }
    // The request a token stands for, to tell a retry from a different request.
    let token = token.map(|token| (token, Sha256::digest(input["TransactItems"].to_string().as_bytes()).to_vec()));

    let (transaction, statements) = OpenTransaction::start(state).await?;
    let outcome = apply_write_items(&transaction, &statements, &items, token.as_ref().map(|(t, h)| (*t, h.as_slice()))).await;
    transaction.settle(outcome).await?;
    Ok(json!({}))
}

const TOKEN_LOOKUP_SQL: &str = "SELECT request_hash FROM dynamo_transaction_tokens
     WHERE token = $1 AND created_at > now() - make_interval(secs => $2)";
const TOKEN_REMEMBER_SQL: &str = "INSERT INTO dynamo_transaction_tokens (token, request_hash, response) VALUES ($1, $2, '\\x7b7d')
     ON CONFLICT (token) DO UPDATE SET request_hash = EXCLUDED.request_hash, created_at = now()";

/// Checks and applies the items in a transaction on `transaction`'s connection and commits it
/// (the caller rolls back after an error). Three pipelined round trips: BEGIN with the token's
/// lock and look-up, the items' locks with their reads, the writes with COMMIT.
async fn apply_write_items(
    transaction: &OpenTransaction,
    statements: &store::Statements,
    items: &[WriteItem],
    token: Option<(&str, &[u8])>,
) -> Result<(), ApiError> {
    let client = transaction.client();
    let token = match token {
        Some((token, request_hash)) => {
            let (lock, lookup, remember) = tokio::try_join!(
                client.prepare_cached(store::LOCK_SQL),
                client.prepare_cached(TOKEN_LOOKUP_SQL),
                client.prepare_cached(TOKEN_REMEMBER_SQL)
            )
            .map_err(db_error)?;
            let token_lock = i64::from_le_bytes(Sha256::digest(token.as_bytes())[..8].try_into().expect("8 bytes"));
            let lifetime = TOKEN_LIFETIME_SECONDS as f64;
            // The look-up runs once the token's lock is held.
            let (_, _, earlier) = tokio::try_join!(
                transaction.command("BEGIN"),
                async { client.execute(&lock, &[&token_lock]).await.map_err(db_error) },
                async { client.query_opt(&lookup, &[&token, &lifetime]).await.map_err(db_error) }
            )?;
            if let Some(row) = earlier {
                let hash: Vec<u8> = row.get(0);
                if hash != request_hash {
                    return Err(DynamoError::new(
                        ErrorKind::IdempotentParameterMismatch,
                        "Request with the same client token was found with different parameters",
                    )
                    .into());
                }
                // Already applied: answer as the first time, change nothing.
                transaction.command("COMMIT").await?;
                return Ok(());
            }
            Some((token, request_hash, remember))
        }
        None => None,
    };

    let lock_ids: Vec<i64> = items.iter().map(|i| store::lock_id(i.meta.id, &i.key)).collect();
    let mut sorted = lock_ids.clone();
    sorted.sort_unstable();
    // With every statement prepared the lock query goes out first, so the reads see what the
    // last holder of each lock committed. Under a busy lock they go unused.
    let begin = async { if token.is_some() { Ok(()) } else { transaction.command("BEGIN").await } };
    let (_, busy, olds) = tokio::try_join!(
        begin,
        statements.try_lock_all(client, &sorted),
        store::pipelined(items.iter().map(|i| statements.read(client, &i.meta, &i.key)))
    )?;
    if !busy.is_empty() {
        let conflict = DynamoError::new(ErrorKind::TransactionConflict, "Transaction is ongoing for the item");
        let reasons = lock_ids
            .iter()
            .map(|id| if busy.contains(id) { reason(&conflict) } else { json!({ "Code": "None" }) })
            .collect();
        return Err(canceled(reasons));
    }

    let mut reasons = Vec::with_capacity(items.len());
    let mut changes = Vec::with_capacity(items.len());
    let mut failed = false;
    for (item, old) in items.iter().zip(&olds) {
        let old = old.as_ref();
        if !item.guard.holds(old) {
            failed = true;
            let mut r = json!({ "Code": "ConditionalCheckFailed", "Message": "The conditional request failed" });
            if let (true, Some(old)) = (item.guard.return_old_on_failure, old) {
                r["Item"] = item_to_json(old);
            }
            reasons.push(r);
            changes.push(None);
            continue;
        }
        let change = match &item.action {
            Action::ConditionCheck => Ok(None),
            Action::Put(new) => Ok(Some(Some(new.clone()))),
            Action::Delete => Ok(Some(None)),
            Action::Update { key, update } => updated_item(&item.meta, key, old, update.as_ref()).map(|new| Some(Some(new))),
        };
        match change {
            Ok(change) => {
                reasons.push(json!({ "Code": "None" }));
                changes.push(change);
            }
            Err(error) => {
                failed = true;
                reasons.push(reason(&error));
                changes.push(None);
            }
        }
    }
    if failed {
        return Err(canceled(reasons));
    }
    // The writes touch distinct items. Their index entries were checked above, so only
    // PostgreSQL can fail one, and it then turns the COMMIT behind them into a rollback.
    let writes = items.iter().zip(&olds).zip(&changes).filter_map(|((item, old), change)| match change {
        Some(Some(new)) => Some(statements.write(client, &item.meta, &item.key, Some(new))),
        Some(None) if old.is_some() => Some(statements.write(client, &item.meta, &item.key, None)),
        _ => None,
    });
    let remember = async {
        match &token {
            Some((token, request_hash, remember)) => client.execute(remember, &[token, request_hash]).await.map(drop).map_err(db_error),
            None => Ok(()),
        }
    };
    tokio::try_join!(store::pipelined(writes), remember, transaction.command("COMMIT"))?;
    Ok(())
}

pub async fn transact_get_items(state: &State, input: &Value) -> Result<Value, ApiError> {
    let entries = transact_items(input)?;
    let mut gets = Vec::with_capacity(entries.len());
    for entry in entries {
        let body = entry
            .get("Get")
            .ok_or_else(|| DynamoError::validation("TransactGetItems can only contain Get items"))?;
        let meta = table(state, required_str(body, "TableName")?).await?;
        let key = store::key_from_key_map(&meta, &required_item(body, "Key")?)?;
        let mut attributes = expression_attributes(body)?;
        let projection: Option<Projection> =
            optional_str(body, "ProjectionExpression")?.map(|text| attributes.projection(text)).transpose()?;
        attributes.finish()?;
        gets.push((meta, key, projection));
    }
    // One snapshot for all reads: a concurrent transaction is seen entirely or not at all.
    // BEGIN, the reads and COMMIT go out together: one round trip.
    let (transaction, statements) = OpenTransaction::start(state).await?;
    let client = transaction.client();
    let outcome = tokio::try_join!(
        transaction.command("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
        store::pipelined(gets.iter().map(|(meta, key, _)| statements.read(client, meta, key))),
        transaction.command("COMMIT")
    );
    let (_, items, _) = transaction.settle(outcome).await?;
    let responses: Vec<Value> = items
        .into_iter()
        .zip(&gets)
        .map(|(item, (_, _, projection))| match item {
            Some(item) => {
                let item = match projection {
                    Some(projection) => projection.apply(&item),
                    None => item,
                };
                json!({ "Item": item_to_json(&item) })
            }
            None => json!({}),
        })
        .collect();
    Ok(json!({ "Responses": responses }))
}
