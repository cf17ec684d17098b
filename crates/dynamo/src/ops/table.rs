//! Table operations: CreateTable, DescribeTable, ListTables, DeleteTable, UpdateTable and TTL.

use deadpool_postgres::GenericClient;
use dynamo_model::{DynamoError, ErrorKind};
use serde_json::{Value, json};

use super::{optional_str, required_str};
use crate::catalog::{self, IndexDefinition, TableDefinition, TableMeta, not_found};
use crate::error::ApiError;
use crate::sigv4::Caller;
use crate::state::State;
use crate::store::{self, db_error, pool_error};

pub async fn create_table(state: &State, caller: &Caller, input: &Value) -> Result<Value, ApiError> {
    let definition = catalog::definition_from_create(input)?;
    let client = state.pool.get().await.map_err(pool_error)?;
    let json = serde_json::to_value(&definition).expect("definition serializes");
    let row = client
        .query_opt(
            "INSERT INTO dynamo_tables (name, definition) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING table_id",
            &[&definition.table_name, &json],
        )
        .await
        .map_err(db_error)?;
    let Some(row) = row else {
        return Err(DynamoError::new(
            ErrorKind::ResourceInUse,
            format!("Table already exists: {}", definition.table_name),
        )
        .into());
    };
    state.catalog.forget(&definition.table_name);
    let meta = state.catalog.get(&client, &definition.table_name).await?;
    debug_assert_eq!(meta.id, row.get::<_, i64>(0));
    Ok(json!({ "TableDescription": meta.description(&caller.region) }))
}

pub async fn describe_table(state: &State, caller: &Caller, input: &Value) -> Result<Value, ApiError> {
    let name = required_str(input, "TableName")?;
    let client = state.pool.get().await.map_err(pool_error)?;
    let meta = fresh(state, &client, name).await?;
    Ok(json!({ "Table": meta.description(&caller.region) }))
}

/// Reads the table from the catalog, bypassing the cache (table operations are rare and must
/// see what other server instances did).
async fn fresh(state: &State, client: &impl GenericClient, name: &str) -> Result<TableMeta, DynamoError> {
    state.catalog.forget(name);
    catalog::load(client, name).await?.ok_or_else(|| table_not_found(name))
}

/// The control plane's message names the table.
fn table_not_found(name: &str) -> DynamoError {
    DynamoError::new(ErrorKind::ResourceNotFound, format!("Requested resource not found: Table: {name} not found"))
}

pub async fn list_tables(state: &State, input: &Value) -> Result<Value, ApiError> {
    let start = optional_str(input, "ExclusiveStartTableName")?.unwrap_or("");
    let limit = match input.get("Limit") {
        None | Some(Value::Null) => 100,
        Some(v) => v.as_i64().filter(|l| (1..=100).contains(l)).ok_or_else(|| {
            DynamoError::validation(format!(
                "1 validation error detected: Value '{v}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"
            ))
        })?,
    };
    let client = state.pool.get().await.map_err(pool_error)?;
    let rows = client
        .query(
            "SELECT name FROM dynamo_tables WHERE name COLLATE \"C\" > $1 ORDER BY name COLLATE \"C\" LIMIT $2",
            &[&start, &(limit + 1)],
        )
        .await
        .map_err(db_error)?;
    let mut names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let mut output = json!({});
    if names.len() as i64 > limit {
        names.truncate(limit as usize);
        output["LastEvaluatedTableName"] = json!(names.last());
    }
    output["TableNames"] = json!(names);
    Ok(output)
}

pub async fn delete_table(state: &State, caller: &Caller, input: &Value) -> Result<Value, ApiError> {
    let name = required_str(input, "TableName")?;
    let mut client = state.pool.get().await.map_err(pool_error)?;
    let transaction = client.transaction().await.map_err(db_error)?;
    let meta = load_for_update(&transaction, name).await?;
    let id = meta.id;
    transaction.execute("DELETE FROM dynamo_tables WHERE table_id = $1", &[&id]).await.map_err(db_error)?;
    transaction.execute("DELETE FROM dynamo_items WHERE table_id = $1", &[&id]).await.map_err(db_error)?;
    transaction.execute("DELETE FROM dynamo_index_entries WHERE table_id = $1", &[&id]).await.map_err(db_error)?;
    transaction.commit().await.map_err(db_error)?;
    state.catalog.forget(name);
    let mut description = meta.description(&caller.region);
    description["TableStatus"] = json!("DELETING");
    Ok(json!({ "TableDescription": description }))
}

async fn store_definition(
    transaction: &deadpool_postgres::Transaction<'_>,
    definition: &TableDefinition,
) -> Result<(), DynamoError> {
    let json = serde_json::to_value(definition).expect("definition serializes");
    transaction
        .execute("UPDATE dynamo_tables SET definition = $2 WHERE name = $1", &[&definition.table_name, &json])
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Loads the table for a definition change, holding its catalog row lock until commit.
async fn load_for_update(
    transaction: &deadpool_postgres::Transaction<'_>,
    name: &str,
) -> Result<TableMeta, DynamoError> {
    transaction
        .query_opt("SELECT 1 FROM dynamo_tables WHERE name = $1 FOR UPDATE", &[&name])
        .await
        .map_err(db_error)?
        .ok_or_else(|| table_not_found(name))?;
    catalog::load(transaction, name).await?.ok_or_else(|| table_not_found(name))
}

/// UpdateTable: billing mode and throughput changes, and creating or deleting global secondary
/// indexes (new indexes are filled from the existing items in the same transaction).
pub async fn update_table(state: &State, caller: &Caller, input: &Value) -> Result<Value, ApiError> {
    let name = required_str(input, "TableName")?;
    let mut client = state.pool.get().await.map_err(pool_error)?;
    let transaction = client.transaction().await.map_err(db_error)?;
    let meta = load_for_update(&transaction, name).await?;
    let mut definition = meta.definition.clone();
    if let Some(mode) = optional_str(input, "BillingMode")? {
        definition.billing_mode = Some(mode.to_owned());
    }
    if let Some(throughput) = input.get("ProvisionedThroughput") {
        definition.provisioned_throughput = Some(throughput.clone());
    }
    if let Some(Value::Array(extra)) = input.get("AttributeDefinitions") {
        for attribute in extra {
            let attribute: catalog::AttributeDefinition = serde_json::from_value(attribute.clone())
                .map_err(|e| DynamoError::serialization(e.to_string()))?;
            if !definition.attribute_definitions.iter().any(|a| a.attribute_name == attribute.attribute_name) {
                definition.attribute_definitions.push(attribute);
            }
        }
    }
    let mut created = Vec::new();
    if let Some(Value::Array(updates)) = input.get("GlobalSecondaryIndexUpdates") {
        for update in updates {
            if let Some(create) = update.get("Create") {
                let mut index: IndexDefinition = serde_json::from_value(create.clone())
                    .map_err(|e| DynamoError::serialization(e.to_string()))?;
                if definition.global_secondary_indexes.iter().any(|i| i.index_name == index.index_name) {
                    return Err(DynamoError::invalid_parameter(format!(
                        "Attempting to create an index which already exists: {}",
                        index.index_name
                    ))
                    .into());
                }
                index.index_id = definition.next_index_id.max(1);
                definition.next_index_id = index.index_id + 1;
                created.push(index.index_id);
                definition.global_secondary_indexes.push(index);
            } else if let Some(delete) = update.get("Delete") {
                let index_name = required_str(delete, "IndexName")?;
                let position = definition
                    .global_secondary_indexes
                    .iter()
                    .position(|i| i.index_name == index_name)
                    .ok_or_else(|| DynamoError::new(ErrorKind::ResourceNotFound, format!("Requested resource not found: Index: {index_name}")))?;
                let removed = definition.global_secondary_indexes.remove(position);
                transaction
                    .execute(
                        "DELETE FROM dynamo_index_entries WHERE table_id = $1 AND index_id = $2",
                        &[&meta.id, &removed.index_id],
                    )
                    .await
                    .map_err(db_error)?;
            } else if let Some(change) = update.get("Update") {
                let index_name = required_str(change, "IndexName")?;
                let index = definition
                    .global_secondary_indexes
                    .iter_mut()
                    .find(|i| i.index_name == index_name)
                    .ok_or_else(|| DynamoError::new(ErrorKind::ResourceNotFound, format!("Requested resource not found: Index: {index_name}")))?;
                index.provisioned_throughput = change.get("ProvisionedThroughput").cloned();
            }
        }
    }
    catalog::revalidate(&definition)?;
    store_definition(&transaction, &definition).await?;
    if !created.is_empty() {
        backfill_indexes(&transaction, meta.id, &definition, &created).await?;
    }
    transaction.commit().await.map_err(db_error)?;
    let meta = fresh(state, &client, name).await?;
    Ok(json!({ "TableDescription": meta.description(&caller.region) }))
}

async fn backfill_indexes(
    transaction: &deadpool_postgres::Transaction<'_>,
    table_id: i64,
    definition: &TableDefinition,
    created: &[i32],
) -> Result<(), DynamoError> {
    let mut only_new = catalog::load(transaction, &definition.table_name).await?.ok_or_else(not_found)?;
    only_new.indexes.retain(|i| created.contains(&i.id));
    let rows = transaction
        .query("SELECT pk, sk, item FROM dynamo_items WHERE table_id = $1", &[&table_id])
        .await
        .map_err(db_error)?;
    let insert = transaction
        .prepare("INSERT INTO dynamo_index_entries (table_id, index_id, ipk, isk, pk, sk) VALUES ($1, $2, $3, $4, $5, $6)")
        .await
        .map_err(db_error)?;
    for row in rows {
        let item = store::decode_item(row.get(2))?;
        let pk: Vec<u8> = row.get(0);
        let sk: Vec<u8> = row.get(1);
        for (index_id, ipk, isk) in store::index_entries(&only_new, &item)? {
            transaction.execute(&insert, &[&table_id, &index_id, &ipk, &isk, &pk, &sk]).await.map_err(db_error)?;
        }
    }
    Ok(())
}

pub async fn update_time_to_live(state: &State, input: &Value) -> Result<Value, ApiError> {
    let name = required_str(input, "TableName")?;
    let specification = input
        .get("TimeToLiveSpecification")
        .ok_or_else(|| DynamoError::validation("1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null"))?;
    let attribute = required_str(specification, "AttributeName")?.to_owned();
    let enabled = specification
        .get("Enabled")
        .and_then(Value::as_bool)
        .ok_or_else(|| DynamoError::validation("1 validation error detected: Value null at 'timeToLiveSpecification.enabled' failed to satisfy constraint: Member must not be null"))?;
    let mut client = state.pool.get().await.map_err(pool_error)?;
    let transaction = client.transaction().await.map_err(db_error)?;
    let meta = load_for_update(&transaction, name).await?;
    let mut definition = meta.definition.clone();
    match (&definition.ttl_attribute, enabled) {
        (Some(_), true) => return Err(DynamoError::validation("TimeToLive is already enabled").into()),
        (None, false) => return Err(DynamoError::validation("TimeToLive is already disabled").into()),
        (Some(current), false) if *current != attribute => {
            return Err(DynamoError::validation(format!(
                "TimeToLive is active on a different AttributeName: current AttributeName is {current}"
            ))
            .into());
        }
        _ => {}
    }
    definition.ttl_attribute = enabled.then(|| attribute.clone());
    store_definition(&transaction, &definition).await?;
    // Recompute every item's expiry for the new setting inside PostgreSQL (items are stored as
    // DynamoDB JSON), with store::expiry_of's rules: a number attribute, truncated to seconds.
    let ttl_attribute: Option<&str> = if enabled { Some(&attribute) } else { None };
    transaction
        .execute(
            "UPDATE dynamo_items SET expires_at = (
                 SELECT CASE WHEN n >= 9e18 THEN NULL
                             WHEN n <= -9e18 THEN -9223372036854775808
                             ELSE trunc(n)::bigint END
                 FROM (SELECT (convert_from(item, 'UTF8')::jsonb -> $2::text ->> 'N')::numeric AS n) AS v)
             WHERE table_id = $1",
            &[&meta.id, &ttl_attribute],
        )
        .await
        .map_err(db_error)?;
    transaction.commit().await.map_err(db_error)?;
    state.catalog.forget(name);
    Ok(json!({ "TimeToLiveSpecification": { "AttributeName": attribute, "Enabled": enabled } }))
}

pub async fn describe_time_to_live(state: &State, input: &Value) -> Result<Value, ApiError> {
    let name = required_str(input, "TableName")?;
    let client = state.pool.get().await.map_err(pool_error)?;
    let meta = fresh(state, &client, name).await?;
    let description = match &meta.definition.ttl_attribute {
        Some(attribute) => json!({ "TimeToLiveStatus": "ENABLED", "AttributeName": attribute }),
        None => json!({ "TimeToLiveStatus": "DISABLED" }),
    };
    Ok(json!({ "TimeToLiveDescription": description }))
}
