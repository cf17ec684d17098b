//! Single-item operations: GetItem, PutItem, UpdateItem, DeleteItem.
//!
//! Writes run in one PostgreSQL transaction that holds the item's advisory lock, so the
//! condition is evaluated against exactly the version the write replaces.

use std::sync::Arc;

use dynamo_model::{Condition, DynamoError, Item, Projection, UpdateExpression, item_to_json};
use serde_json::{Value, json};

use super::{OpenTransaction, enum_member, expression_attributes, optional_str, reject_legacy, required_item, required_str};
use crate::catalog::TableMeta;
use crate::error::ApiError;
use crate::state::State;
use crate::store::{self, StoredKey, pool_error};

pub async fn table(state: &State, name: &str) -> Result<Arc<TableMeta>, DynamoError> {
    // Only a cache miss needs a connection: taking one from a busy pool means waiting in line.
    if let Some(meta) = state.catalog.cached(name) {
        return Ok(meta);
    }
    let client = state.pool.get().await.map_err(pool_error)?;
    state.catalog.get(&client, name).await
}

/// What a write does to the item, decided from its current version.
pub enum Change {
    Put(Item),
    Delete,
    Keep,
}

/// Reads the current version under the item's lock, lets `decide` check conditions and compute
/// the change, applies it and commits. Returns the old version and the change.
///
/// Two round trips: BEGIN, lock and read are pipelined, then the writes and COMMIT.
pub async fn locked_write<F>(state: &State, meta: &TableMeta, key: &StoredKey, decide: F) -> Result<(Option<Item>, Change), ApiError>
where
    F: FnOnce(Option<&Item>) -> Result<Change, ApiError>,
{
    let (transaction, statements) = OpenTransaction::start(state).await?;
    let old = {
        let client = transaction.client();
        let (_, _, old) =
            tokio::try_join!(transaction.command("BEGIN"), statements.lock(client, meta, key), statements.read(client, meta, key))?;
        old
    };
    let change = match decide(old.as_ref()) {
        Ok(change) => change,
        Err(error) => {
            transaction.rollback().await;
            return Err(error);
        }
    };
    let written = {
        let client = transaction.client();
        let commit = transaction.command("COMMIT");
        match &change {
            Change::Put(item) => tokio::try_join!(statements.write(client, meta, key, Some(item)), commit).map(|_| ()),
            Change::Delete if old.is_some() => tokio::try_join!(statements.write(client, meta, key, None), commit).map(|_| ()),
            Change::Delete | Change::Keep => commit.await,
        }
    };
    transaction.settle(written).await?;
    Ok((old, change))
}

/// Stores `item` (or deletes the key when None) regardless of the current version: without a
/// condition to check or old values to return there is nothing to read first, so BEGIN, the
/// item's lock, the write and COMMIT go out together in one round trip.
pub async fn blind_write(state: &State, meta: &TableMeta, key: &StoredKey, item: Option<&Item>) -> Result<(), ApiError> {
    let (transaction, statements) = OpenTransaction::start(state).await?;
    let written = {
        let client = transaction.client();
        tokio::try_join!(
            transaction.command("BEGIN"),
            statements.lock(client, meta, key),
            statements.write(client, meta, key, item),
            transaction.command("COMMIT")
        )
    };
    transaction.settle(written).await?;
    Ok(())
}

/// A ConditionExpression with ReturnValuesOnConditionCheckFailure.
pub struct Guard {
    pub condition: Option<Condition>,
    pub return_old_on_failure: bool,
}

impl Guard {
    pub fn parse(input: &Value, attributes: &mut dynamo_model::ExpressionAttributes) -> Result<Guard, DynamoError> {
        let condition = optional_str(input, "ConditionExpression")?.map(|text| attributes.condition(text)).transpose()?;
        let on_failure = enum_member(input, "ReturnValuesOnConditionCheckFailure", &["ALL_OLD", "NONE"], "NONE")?;
        Ok(Guard { condition, return_old_on_failure: on_failure == "ALL_OLD" })
    }

    pub fn holds(&self, old: Option<&Item>) -> bool {
        let empty = Item::new();
        self.condition.as_ref().is_none_or(|c| c.evaluate(old.unwrap_or(&empty)))
    }

    /// ConditionalCheckFailedException, with the old item when asked for.
    pub fn failure(&self, old: Option<&Item>) -> ApiError {
        let error = ApiError::from(DynamoError::conditional_check_failed());
        match old {
            Some(item) if self.return_old_on_failure => error.with("Item", item_to_json(item)),
            _ => error,
        }
    }
}

fn key_of(meta: &TableMeta, key: Item) -> Result<(Item, StoredKey), DynamoError> {
    let stored = store::key_from_key_map(meta, &key)?;
    Ok((key, stored))
}

fn with_attributes(item: Option<&Item>) -> Value {
    match item {
        Some(item) if !item.is_empty() => json!({ "Attributes": item_to_json(item) }),
        _ => json!({}),
    }
}

pub async fn get_item(state: &State, input: &Value) -> Result<Value, ApiError> {
    reject_legacy(input, &["AttributesToGet"])?;
    let key = required_item(input, "Key")?;
    let meta = table(state, required_str(input, "TableName")?).await?;
    let (_, key) = key_of(&meta, key)?;
    let mut attributes = expression_attributes(input)?;
    let projection: Option<Projection> =
        optional_str(input, "ProjectionExpression")?.map(|text| attributes.projection(text)).transpose()?;
    attributes.finish()?;
    let client = state.pool.get().await.map_err(pool_error)?;
    let item = store::read(&client, &meta, &key).await?;
    Ok(match item {
        Some(item) => {
            let item = match &projection {
                Some(projection) => projection.apply(&item),
                None => item,
            };
            json!({ "Item": item_to_json(&item) })
        }
        None => json!({}),
    })
}

pub async fn put_item(state: &State, input: &Value) -> Result<Value, ApiError> {
    reject_legacy(input, &["Expected", "ConditionalOperator"])?;
    let item = required_item(input, "Item")?;
    let meta = table(state, required_str(input, "TableName")?).await?;
    let key = store::key_from_item(&meta, &item)?;
    dynamo_model::check_item_size(&item)?;
    store::index_entries(&meta, &item)?;
    let mut attributes = expression_attributes(input)?;
    let guard = Guard::parse(input, &mut attributes)?;
    attributes.finish()?;
    let return_values = enum_member(input, "ReturnValues", &["NONE", "ALL_OLD"], "NONE")?;
    if guard.condition.is_none() && return_values == "NONE" {
        blind_write(state, &meta, &key, Some(&item)).await?;
        return Ok(json!({}));
    }
    let (old, _) = locked_write(state, &meta, &key, |old| {
        if !guard.holds(old) {
            return Err(guard.failure(old));
        }
        Ok(Change::Put(item))
    })
    .await?;
    Ok(if return_values == "ALL_OLD" { with_attributes(old.as_ref()) } else { json!({}) })
}

pub async fn delete_item(state: &State, input: &Value) -> Result<Value, ApiError> {
    reject_legacy(input, &["Expected", "ConditionalOperator"])?;
    let key = required_item(input, "Key")?;
    let meta = table(state, required_str(input, "TableName")?).await?;
    let (_, key) = key_of(&meta, key)?;
    let mut attributes = expression_attributes(input)?;
    let guard = Guard::parse(input, &mut attributes)?;
    attributes.finish()?;
    let return_values = enum_member(input, "ReturnValues", &["NONE", "ALL_OLD"], "NONE")?;
    if guard.condition.is_none() && return_values == "NONE" {
        blind_write(state, &meta, &key, None).await?;
        return Ok(json!({}));
    }
    let (old, _) = locked_write(state, &meta, &key, |old| {
        if !guard.holds(old) {
            return Err(guard.failure(old));
        }
        Ok(Change::Delete)
    })
    .await?;
    Ok(if return_values == "ALL_OLD" { with_attributes(old.as_ref()) } else { json!({}) })
}

/// The item an UpdateExpression produces from the current version (or from just the key when
/// the item does not exist yet).
pub fn updated_item(meta: &TableMeta, key: &Item, old: Option<&Item>, update: Option<&UpdateExpression>) -> Result<Item, DynamoError> {
    let mut item = old.cloned().unwrap_or_else(|| key.clone());
    if let Some(update) = update {
        update.apply(&mut item)?;
    }
    dynamo_model::check_updated_item_size(&item)?;
    store::index_entries(meta, &item)?;
    Ok(item)
}

pub fn parse_update(meta: &TableMeta, input: &Value, attributes: &mut dynamo_model::ExpressionAttributes) -> Result<Option<UpdateExpression>, DynamoError> {
    let update = optional_str(input, "UpdateExpression")?.map(|text| attributes.update(text)).transpose()?;
    if let Some(update) = &update {
        let keys = std::iter::once(meta.hash.name.as_str()).chain(meta.range.iter().map(|r| r.name.as_str()));
        update.check_key_attributes(keys)?;
    }
    Ok(update)
}

pub async fn update_item(state: &State, input: &Value) -> Result<Value, ApiError> {
    reject_legacy(input, &["Expected", "ConditionalOperator", "AttributeUpdates"])?;
    let key = required_item(input, "Key")?;
    let meta = table(state, required_str(input, "TableName")?).await?;
    let (key_item, key) = key_of(&meta, key)?;
    let mut attributes = expression_attributes(input)?;
    let update = parse_update(&meta, input, &mut attributes)?;
    let guard = Guard::parse(input, &mut attributes)?;
    attributes.finish()?;
    let return_values =
        enum_member(input, "ReturnValues", &["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"], "NONE")?;
    let (old, change) = locked_write(state, &meta, &key, |old| {
        if !guard.holds(old) {
            return Err(guard.failure(old));
        }
        Ok(Change::Put(updated_item(&meta, &key_item, old, update.as_ref())?))
    })
    .await?;
    let Change::Put(new) = change else { unreachable!("updates always put") };
    let updated_paths = || -> Vec<dynamo_model::Path> {
        update.as_ref().map(|u| u.paths().into_iter().cloned().collect()).unwrap_or_default()
    };
    Ok(match return_values {
        "ALL_OLD" => with_attributes(old.as_ref()),
        "ALL_NEW" => with_attributes(Some(&new)),
        "UPDATED_OLD" => with_attributes(old.map(|o| dynamo_model::project_paths(&o, &updated_paths())).as_ref()),
        "UPDATED_NEW" => with_attributes(Some(&dynamo_model::project_paths(&new, &updated_paths()))),
        _ => json!({}),
    })
}
