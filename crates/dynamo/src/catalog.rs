//! Table definitions: validation of CreateTable/UpdateTable requests, their storage in the
//! `dynamo_tables` catalog, an in-memory cache, and DescribeTable's output shape.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use dynamo_model::{DynamoError, ErrorKind, ValueType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySchemaElement {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Projection {
    #[serde(default)]
    pub projection_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_key_attributes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDefinition {
    pub index_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    #[serde(default)]
    pub projection: Projection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput: Option<Value>,
    /// Stable id of the index inside `dynamo_index_entries`.
    #[serde(default)]
    pub index_id: i32,
}

/// What the catalog stores per table (the request shape plus our bookkeeping).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub table_name: String,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexDefinition>,
    #[serde(default)]
    pub local_secondary_indexes: Vec<IndexDefinition>,
    #[serde(default)]
    pub billing_mode: Option<String>,
    #[serde(default)]
    pub provisioned_throughput: Option<Value>,
    #[serde(default)]
    pub ttl_attribute: Option<String>,
    #[serde(default)]
    pub creation_date_time: f64,
    #[serde(default)]
    pub next_index_id: i32,
    #[serde(default)]
    pub table_uuid: String,
}

/// A key attribute: name and scalar type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: String,
    pub value_type: ValueType,
}

impl KeyAttribute {
    pub fn as_model(&self) -> dynamo_model::KeyAttribute<'_> {
        dynamo_model::KeyAttribute { name: &self.name, value_type: self.value_type }
    }
}

#[derive(Debug, Clone)]
pub struct IndexMeta {
    pub id: i32,
    pub name: String,
    pub global: bool,
    pub hash: KeyAttribute,
    pub range: Option<KeyAttribute>,
    /// None = ALL; Some(list) = the key attributes plus these (KEYS_ONLY: empty list).
    pub projected: Option<Vec<String>>,
}

/// A table as the item operations need it.
#[derive(Debug, Clone)]
pub struct TableMeta {
    pub id: i64,
    pub definition: TableDefinition,
    pub hash: KeyAttribute,
    pub range: Option<KeyAttribute>,
    pub indexes: Vec<IndexMeta>,
}

impl TableMeta {
    pub fn name(&self) -> &str {
        &self.definition.table_name
    }

    pub fn index(&self, name: &str) -> Result<&IndexMeta, DynamoError> {
        self.indexes.iter().find(|i| i.name == name).ok_or_else(|| {
            DynamoError::validation(format!(
                "The table does not have the specified index: {name}"
            ))
        })
    }

    pub fn is_key_attribute(&self, name: &str) -> bool {
        self.hash.name == name || self.range.as_ref().is_some_and(|r| r.name == name)
    }

    fn from_definition(id: i64, definition: TableDefinition) -> Result<Self, DynamoError> {
        let type_of = |name: &str| -> Result<ValueType, DynamoError> {
            let def = definition
                .attribute_definitions
                .iter()
                .find(|a| a.attribute_name == name)
                .ok_or_else(|| {
                    DynamoError::invalid_parameter(
                        "Some index key attributes are not defined in AttributeDefinitions. Keys: [".to_owned()
                            + name
                            + "], AttributeDefinitions: ["
                            + &definition
                                .attribute_definitions
                                .iter()
                                .map(|a| a.attribute_name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                            + "]",
                    )
                })?;
            match def.attribute_type.as_str() {
                "S" => Ok(ValueType::S),
                "N" => Ok(ValueType::N),
                "B" => Ok(ValueType::B),
                other => Err(DynamoError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
                ))),
            }
        };
        let keys = |schema: &[KeySchemaElement]| -> Result<(KeyAttribute, Option<KeyAttribute>), DynamoError> {
            let bad = || DynamoError::invalid_parameter("Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
            let (first, rest) = schema.split_first().ok_or_else(bad)?;
            if first.key_type != "HASH" || rest.len() > 1 {
                return Err(bad());
            }
            let hash = KeyAttribute { name: first.attribute_name.clone(), value_type: type_of(&first.attribute_name)? };
            let range = match rest.first() {
                Some(r) if r.key_type == "RANGE" => {
                    if r.attribute_name == first.attribute_name {
                        return Err(DynamoError::invalid_parameter(
                            "Both the Hash Key and the Range Key element in the KeySchema have the same name",
                        ));
                    }
                    Some(KeyAttribute { name: r.attribute_name.clone(), value_type: type_of(&r.attribute_name)? })
                }
                Some(_) => {
                    return Err(DynamoError::invalid_parameter(
                        "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
                    ));
                }
                None => None,
            };
            Ok((hash, range))
        };
        let (hash, range) = keys(&definition.key_schema)?;
        let mut indexes = Vec::new();
        for (global, list) in [(true, &definition.global_secondary_indexes), (false, &definition.local_secondary_indexes)] {
            for index in list {
                let (ihash, irange) = keys(&index.key_schema)?;
                let projected = match index.projection.projection_type.as_deref() {
                    Some("ALL") => None,
                    Some("KEYS_ONLY") => Some(Vec::new()),
                    Some("INCLUDE") => Some(index.projection.non_key_attributes.clone().unwrap_or_default()),
                    other => {
                        return Err(DynamoError::validation(format!(
                            "1 validation error detected: Value '{}' at 'projection.projectionType' failed to satisfy constraint: Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]",
                            other.unwrap_or("null")
                        )));
                    }
                };
                indexes.push(IndexMeta { id: index.index_id, name: index.index_name.clone(), global, hash: ihash, range: irange, projected });
            }
        }
        Ok(TableMeta { id, definition, hash, range, indexes })
    }

    /// DescribeTable's `Table` object.
    pub fn description(&self, region: &str) -> Value {
        let d = &self.definition;
        let arn = format!("arn:aws:dynamodb:{region}:000000000000:table/{}", d.table_name);
        let throughput = |p: &Option<Value>| {
            let p = p.clone().unwrap_or(json!({}));
            json!({
                "ReadCapacityUnits": p.get("ReadCapacityUnits").cloned().unwrap_or(json!(0)),
                "WriteCapacityUnits": p.get("WriteCapacityUnits").cloned().unwrap_or(json!(0)),
                "NumberOfDecreasesToday": 0,
            })
        };
        let index_json = |i: &IndexDefinition, global: bool| {
            let mut v = json!({
                "IndexName": i.index_name,
                "KeySchema": i.key_schema,
                "Projection": i.projection,
                "IndexSizeBytes": 0,
                "ItemCount": 0,
                "IndexArn": format!("{arn}/index/{}", i.index_name),
            });
            if global {
                v["IndexStatus"] = json!("ACTIVE");
                v["ProvisionedThroughput"] = throughput(&i.provisioned_throughput);
            }
            v
        };
        let mut table = json!({
            "TableName": d.table_name,
            "TableStatus": "ACTIVE",
            "AttributeDefinitions": d.attribute_definitions,
            "KeySchema": d.key_schema,
            "CreationDateTime": d.creation_date_time,
            "ProvisionedThroughput": throughput(&d.provisioned_throughput),
            "TableSizeBytes": 0,
            "ItemCount": 0,
            "TableArn": arn,
            "TableId": d.table_uuid,
            "BillingModeSummary": {
                "BillingMode": d.billing_mode.clone().unwrap_or_else(|| "PROVISIONED".into()),
                "LastUpdateToPayPerRequestDateTime": d.creation_date_time,
            },
            "DeletionProtectionEnabled": false,
        });
        if !d.global_secondary_indexes.is_empty() {
            table["GlobalSecondaryIndexes"] =
                Value::Array(d.global_secondary_indexes.iter().map(|i| index_json(i, true)).collect());
        }
        if !d.local_secondary_indexes.is_empty() {
            table["LocalSecondaryIndexes"] =
                Value::Array(d.local_secondary_indexes.iter().map(|i| index_json(i, false)).collect());
        }
        table
    }
}

fn validate_table_name(name: &str) -> Result<(), DynamoError> {
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !(3..=255).contains(&name.len()) || !ok_chars {
        return Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and length between 3 and 255"
        )));
    }
    Ok(())
}

/// Builds and validates a table definition from a CreateTable request.
pub fn definition_from_create(request: &Value) -> Result<TableDefinition, DynamoError> {
    let mut definition: TableDefinition = serde_json::from_value(request.clone())
        .map_err(|e| DynamoError::serialization(format!("Invalid CreateTable request: {e}")))?;
    validate_table_name(&definition.table_name)?;
    definition.ttl_attribute = None;
    definition.creation_date_time =
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    definition.table_uuid = uuid::Uuid::new_v4().to_string();
    let mut next = 1;
    for index in definition.global_secondary_indexes.iter_mut().chain(definition.local_secondary_indexes.iter_mut()) {
        index.index_id = next;
        next += 1;
    }
    definition.next_index_id = next;
    if definition.billing_mode.as_deref() != Some("PAY_PER_REQUEST") && definition.provisioned_throughput.is_none() {
        return Err(DynamoError::validation(
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        ));
    }
    validate_definition(&definition)?;
    Ok(definition)
}

fn validate_definition(definition: &TableDefinition) -> Result<TableMeta, DynamoError> {
    let meta = TableMeta::from_definition(0, definition.clone())?;
    let mut names = std::collections::HashSet::new();
    for index in &meta.indexes {
        if !names.insert(index.name.clone()) {
            return Err(DynamoError::invalid_parameter(format!("Duplicate index name: {}", index.name)));
        }
        if !index.global {
            if meta.range.is_none() {
                return Err(DynamoError::invalid_parameter(
                    "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
                ));
            }
            if index.hash != meta.hash || index.range.is_none() {
                return Err(DynamoError::invalid_parameter(format!(
                    "Index KeySchema does not have the same leading hash key as table KeySchema for index: {}. index hash key: {}, table hash key: {}",
                    index.name, index.hash.name, meta.hash.name
                )));
            }
        }
    }
    let mut used: Vec<&str> = vec![meta.hash.name.as_str()];
    used.extend(meta.range.iter().map(|r| r.name.as_str()));
    for index in &meta.indexes {
        used.push(&index.hash.name);
        used.extend(index.range.iter().map(|r| r.name.as_str()));
    }
    if definition.attribute_definitions.iter().any(|a| !used.contains(&a.attribute_name.as_str())) {
        return Err(DynamoError::invalid_parameter(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }
    Ok(meta)
}

/// Cache of table metadata by name, filled from `dynamo_tables` on demand.
#[derive(Default, Clone)]
pub struct Catalog {
    tables: Arc<RwLock<HashMap<String, Arc<TableMeta>>>>,
}

pub fn not_found() -> DynamoError {
    DynamoError::new(ErrorKind::ResourceNotFound, "Requested resource not found")
}

impl Catalog {
    pub fn forget(&self, name: &str) {
        self.tables.write().expect("catalog lock").remove(name);
    }

    /// The named table if it is already cached.
    pub fn cached(&self, name: &str) -> Option<Arc<TableMeta>> {
        self.tables.read().expect("catalog lock").get(name).cloned()
    }

    /// The named table, or DynamoDB's ResourceNotFoundException.
    pub async fn get(&self, client: &impl deadpool_postgres::GenericClient, name: &str) -> Result<Arc<TableMeta>, DynamoError> {
        if let Some(meta) = self.cached(name) {
            return Ok(meta);
        }
        let meta = Arc::new(load(client, name).await?.ok_or_else(not_found)?);
        self.tables.write().expect("catalog lock").insert(name.to_owned(), meta.clone());
        Ok(meta)
    }
}

pub async fn load(client: &impl deadpool_postgres::GenericClient, name: &str) -> Result<Option<TableMeta>, DynamoError> {
    let row = client
        .query_opt("SELECT table_id, definition FROM dynamo_tables WHERE name = $1", &[&name])
        .await
        .map_err(crate::store::db_error)?;
    let Some(row) = row else { return Ok(None) };
    let id: i64 = row.get(0);
    let definition: TableDefinition = serde_json::from_value(row.get(1))
        .map_err(|e| crate::error::internal(format!("corrupt catalog entry: {e}")))?;
    Ok(Some(TableMeta::from_definition(id, definition)?))
}

/// Re-validates an updated definition (UpdateTable).
pub fn revalidate(definition: &TableDefinition) -> Result<(), DynamoError> {
    validate_definition(definition).map(|_| ())
}
