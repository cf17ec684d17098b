//! Query and Scan over a table or a secondary index, with DynamoDB's paging: `Limit` counts
//! items read before the filter, a page stops at 1 MB read, and `LastEvaluatedKey` is where the
//! next page starts.

use deadpool_postgres::GenericClient;
use dynamo_model::{Condition, DynamoError, Item, KeyQuery, Projection, item_to_json};
use serde_json::{Value, json};
use tokio_postgres::types::ToSql;

use super::item::table;
use super::{enum_member, expression_attributes, optional_item, optional_str, reject_legacy, required_str};
use crate::catalog::{IndexMeta, KeyAttribute, TableMeta};
use crate::error::ApiError;
use crate::state::State;
use crate::store::{self, SEGMENT_SPACE, db_error, pool_error};

/// DynamoDB stops a page after reading this much data.
const PAGE_BYTES: usize = 1024 * 1024;
/// Rows fetched from PostgreSQL per round trip.
const BATCH_ROWS: i64 = 256;

/// Where to read from.
enum Source<'a> {
    TableQuery { pk: Vec<u8>, lower: Vec<u8>, upper: Option<Vec<u8>> },
    IndexQuery { index: &'a IndexMeta, ipk: Vec<u8>, lower: Vec<u8>, upper: Option<Vec<u8>> },
    TableScan { first_segment: i32, end_segment: i32 },
    IndexScan { index: &'a IndexMeta, segment: Option<(i64, i64)> },
}

/// Position of a row in the source's order: the columns the ORDER BY uses.
type Position = Vec<Vec<u8>>;

/// Turns key-condition bounds into `lower <= x < upper` (upper None = unbounded).
fn normalise(bounds: (std::ops::Bound<Vec<u8>>, std::ops::Bound<Vec<u8>>)) -> (Vec<u8>, Option<Vec<u8>>) {
    use std::ops::Bound::*;
    let successor = |mut v: Vec<u8>| {
        v.push(0);
        v
    };
    let lower = match bounds.0 {
        Included(v) => v,
        Excluded(v) => successor(v),
        Unbounded => Vec::new(),
    };
    let upper = match bounds.1 {
        Included(v) => Some(successor(v)),
        Excluded(v) => Some(v),
        Unbounded => None,
    };
    (lower, upper)
}

struct Batch {
    rows: Vec<(Position, Item)>,
    more: bool,
}

async fn fetch(
    client: &impl GenericClient,
    meta: &TableMeta,
    source: &Source<'_>,
    forward: bool,
    after: Option<&Position>,
    limit: i64,
) -> Result<Batch, DynamoError> {
    let order = if forward { "ASC" } else { "DESC" };
    let cmp = if forward { ">" } else { "<" };
    let fetch_limit = limit + 1;
    let rows = match source {
        Source::TableQuery { pk, lower, upper } => {
            let after_clause = if after.is_some() { format!("AND sk {cmp} $6") } else { String::new() };
            let sql = format!(
                "SELECT sk, item FROM dynamo_items WHERE table_id = $1 AND pk = $2 AND sk >= $3
                 AND ($4::bytea IS NULL OR sk < $4) {after_clause} ORDER BY sk {order} LIMIT $5"
            );
            let statement = client.prepare_cached(&sql).await.map_err(db_error)?;
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&meta.id, pk, lower, upper, &fetch_limit];
            if let Some(after) = after {
                params.push(&after[0]);
            }
            client.query(&statement, &params).await.map_err(db_error)?
        }
        Source::IndexQuery { index, ipk, lower, upper } => {
            let after_clause = if after.is_some() { format!("AND (e.isk, e.pk, e.sk) {cmp} ($7, $8, $9)") } else { String::new() };
            let sql = format!(
                "SELECT e.isk, e.pk, e.sk, i.item FROM dynamo_index_entries e
                 JOIN dynamo_items i ON i.table_id = e.table_id AND i.pk = e.pk AND i.sk = e.sk
                 WHERE e.table_id = $1 AND e.index_id = $2 AND e.ipk = $3 AND e.isk >= $4
                 AND ($5::bytea IS NULL OR e.isk < $5) {after_clause}
                 ORDER BY e.isk {order}, e.pk {order}, e.sk {order} LIMIT $6"
            );
            let statement = client.prepare_cached(&sql).await.map_err(db_error)?;
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&meta.id, &index.id, ipk, lower, upper, &fetch_limit];
            if let Some(after) = after {
                params.extend([&after[0] as &(dyn ToSql + Sync), &after[1], &after[2]]);
            }
            client.query(&statement, &params).await.map_err(db_error)?
        }
        Source::TableScan { first_segment, end_segment } => {
            let sql = "SELECT segment, pk, sk, item FROM dynamo_items
                 WHERE table_id = $1 AND segment >= $2 AND segment < $3 AND (segment, pk, sk) > ($4, $5, $6)
                 ORDER BY segment, pk, sk LIMIT $7";
            let statement = client.prepare_cached(sql).await.map_err(db_error)?;
            let start = after.cloned().unwrap_or_else(|| vec![(first_segment - 1).to_be_bytes().to_vec(), vec![], vec![]]);
            let segment = i32::from_be_bytes(start[0].as_slice().try_into().map_err(|_| bad_start_key())?);
            client
                .query(&statement, &[&meta.id, first_segment, end_segment, &segment, &start[1], &start[2], &fetch_limit])
                .await
                .map_err(db_error)?
        }
        Source::IndexScan { index, .. } => {
            let sql = "SELECT e.ipk, e.isk, e.pk, e.sk, i.item FROM dynamo_index_entries e
                 JOIN dynamo_items i ON i.table_id = e.table_id AND i.pk = e.pk AND i.sk = e.sk
                 WHERE e.table_id = $1 AND e.index_id = $2 AND (e.ipk, e.isk, e.pk, e.sk) > ($3, $4, $5, $6)
                 ORDER BY e.ipk, e.isk, e.pk, e.sk LIMIT $7";
            let statement = client.prepare_cached(sql).await.map_err(db_error)?;
            let start = after.cloned().unwrap_or_else(|| vec![vec![], vec![], vec![], vec![]]);
            client
                .query(&statement, &[&meta.id, &index.id, &start[0], &start[1], &start[2], &start[3], &fetch_limit])
                .await
                .map_err(db_error)?
        }
    };
    let more = rows.len() as i64 > limit;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows.iter().take(limit as usize) {
        let columns = row.len();
        let mut position: Position = Vec::with_capacity(columns - 1);
        for column in 0..columns - 1 {
            if matches!(source, Source::TableScan { .. }) && column == 0 {
                position.push(row.get::<_, i32>(0).to_be_bytes().to_vec());
            } else {
                position.push(row.get::<_, Vec<u8>>(column));
            }
        }
        out.push((position, store::decode_item(row.get(columns - 1))?));
    }
    Ok(Batch { rows: out, more })
}

fn bad_start_key() -> DynamoError {
    DynamoError::validation("The provided starting key is invalid: The provided key element does not match the schema")
}

fn encoded(item: &Item, attribute: &KeyAttribute) -> Result<Vec<u8>, DynamoError> {
    let value = item.get(&attribute.name).ok_or_else(bad_start_key)?;
    if value.value_type() != attribute.value_type {
        return Err(bad_start_key());
    }
    Ok(store::encode_key_value(value))
}

fn encoded_optional(item: &Item, attribute: Option<&KeyAttribute>) -> Result<Vec<u8>, DynamoError> {
    attribute.map(|a| encoded(item, a)).transpose().map(Option::unwrap_or_default)
}

/// The position an ExclusiveStartKey stands for in `source`'s order.
fn start_position(meta: &TableMeta, source: &Source<'_>, key: &Item) -> Result<Position, DynamoError> {
    let pk = encoded(key, &meta.hash)?;
    let sk = encoded_optional(key, meta.range.as_ref())?;
    Ok(match source {
        Source::TableQuery { .. } => vec![sk],
        Source::TableScan { .. } => vec![store::segment_of(&pk).to_be_bytes().to_vec(), pk, sk],
        Source::IndexQuery { index, .. } => vec![encoded_optional(key, index.range.as_ref())?, pk, sk],
        Source::IndexScan { index, .. } => {
            vec![encoded(key, &index.hash)?, encoded_optional(key, index.range.as_ref())?, pk, sk]
        }
    })
}

/// LastEvaluatedKey of an item: the table key, plus the index key when reading an index.
fn last_evaluated_key(meta: &TableMeta, index: Option<&IndexMeta>, item: &Item) -> Item {
    let mut key = store::key_attributes(meta, item);
    if let Some(index) = index {
        for attribute in std::iter::once(&index.hash).chain(index.range.iter()) {
            if let Some(value) = item.get(&attribute.name) {
                key.insert(attribute.name.clone(), value.clone());
            }
        }
    }
    key
}

/// What an index holds of an item (its projection).
fn index_view(meta: &TableMeta, index: &IndexMeta, item: Item) -> Item {
    match &index.projected {
        None => item,
        Some(extra) => item
            .into_iter()
            .filter(|(name, _)| {
                meta.is_key_attribute(name)
                    || index.hash.name == *name
                    || index.range.as_ref().is_some_and(|r| r.name == *name)
                    || extra.contains(name)
            })
            .collect(),
    }
}

struct ReadRequest<'a> {
    meta: &'a TableMeta,
    options: ReadOptions<'a>,
    limit: Option<i64>,
    exclusive_start: Option<Item>,
    forward: bool,
}

fn parse_common(input: &Value) -> Result<(Option<i64>, Option<Item>), DynamoError> {
    let limit = match input.get("Limit") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().filter(|l| *l >= 1).ok_or_else(|| {
            DynamoError::validation(format!(
                "1 validation error detected: Value '{v}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
            ))
        })?),
    };
    Ok((limit, optional_item(input, "ExclusiveStartKey")?))
}

/// The parts of a Query or Scan request besides where to read.
struct ReadOptions<'a> {
    index: Option<&'a IndexMeta>,
    filter: Option<Condition>,
    projection: Option<Projection>,
    count_only: bool,
    full_items_from_table: bool,
}

/// Parses Select/ProjectionExpression/FilterExpression and the index checks shared by Query
/// and Scan.
fn parse_read<'a>(
    input: &Value,
    meta: &'a TableMeta,
    attributes: &mut dynamo_model::ExpressionAttributes,
) -> Result<ReadOptions<'a>, DynamoError> {
    let index = optional_str(input, "IndexName")?.map(|name| meta.index(name)).transpose()?;
    if let Some(index) = index
        && index.global
        && input.get("ConsistentRead").and_then(Value::as_bool) == Some(true)
    {
        return Err(DynamoError::validation("Consistent reads are not supported on global secondary indexes"));
    }
    let filter = optional_str(input, "FilterExpression")?.map(|t| attributes.filter(t)).transpose()?;
    let projection = optional_str(input, "ProjectionExpression")?.map(|t| attributes.projection(t)).transpose()?;
    let default_select = if projection.is_some() {
        "SPECIFIC_ATTRIBUTES"
    } else if index.is_some() {
        "ALL_PROJECTED_ATTRIBUTES"
    } else {
        "ALL_ATTRIBUTES"
    };
    let select = enum_member(
        input,
        "Select",
        &["ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT"],
        default_select,
    )?;
    if projection.is_some() && select != "SPECIFIC_ATTRIBUTES" {
        return Err(DynamoError::validation(
            "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES or COUNT",
        ));
    }
    if select == "ALL_PROJECTED_ATTRIBUTES" && index.is_none() {
        return Err(DynamoError::validation(
            "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
        ));
    }
    let mut full_items_from_table = index.is_none();
    if let Some(index) = index
        && select == "ALL_ATTRIBUTES"
    {
        if index.global && index.projected.is_some() {
            return Err(DynamoError::invalid_parameter(format!(
                "Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
                index.name
            )));
        }
        full_items_from_table = true;
    }
    Ok(ReadOptions { index, filter, projection, count_only: select == "COUNT", full_items_from_table })
}

async fn run(state: &State, request: ReadRequest<'_>, source: Source<'_>) -> Result<Value, ApiError> {
    let ReadRequest { meta, options, limit, exclusive_start, forward } = request;
    let ReadOptions { index, filter, projection, count_only, full_items_from_table } = options;
    let client = state.pool.get().await.map_err(pool_error)?;
    let mut after = exclusive_start
        .as_ref()
        .map(|key| start_position(meta, &source, key))
        .transpose()?;
    let mut items = Vec::new();
    let (mut count, mut scanned, mut bytes) = (0usize, 0i64, 0usize);
    let mut last_key: Option<Item> = None;
    let segment_filter = match &source {
        Source::IndexScan { segment, .. } => *segment,
        _ => None,
    };
    'pages: loop {
        let want = limit.map_or(BATCH_ROWS, |l| (l - scanned).min(BATCH_ROWS));
        let batch = fetch(&client, meta, &source, forward, after.as_ref(), want).await?;
        let batch_len = batch.rows.len();
        for (i, (position, item)) in batch.rows.into_iter().enumerate() {
            let outside_segment = segment_filter.is_some_and(|(lo, hi)| {
                let segment = i64::from(store::segment_of(&position[0]));
                segment < lo || segment >= hi
            });
            after = Some(position);
            if outside_segment {
                continue;
            }
            scanned += 1;
            bytes += dynamo_model::item_size(&item);
            let page_full = limit.is_some_and(|l| scanned >= l) || bytes >= PAGE_BYTES;
            let rows_left = i + 1 < batch_len || batch.more;
            // The key is only needed where the page stops short of the end.
            let last = (page_full && rows_left).then(|| last_evaluated_key(meta, index, &item));
            let view = match index {
                Some(index) if !full_items_from_table => index_view(meta, index, item),
                _ => item,
            };
            if filter.as_ref().is_none_or(|f| f.evaluate(&view)) {
                count += 1;
                if !count_only {
                    items.push(match &projection {
                        Some(p) => p.apply(&view),
                        None => view,
                    });
                }
            }
            if page_full {
                last_key = last;
                break 'pages;
            }
        }
        if !batch.more {
            break;
        }
    }
    let mut output = json!({ "Count": count, "ScannedCount": scanned });
    if !count_only {
        output["Items"] = Value::Array(items.iter().map(item_to_json).collect());
    }
    if let Some(key) = last_key {
        output["LastEvaluatedKey"] = item_to_json(&key);
    }
    Ok(output)
}

pub async fn query(state: &State, input: &Value) -> Result<Value, ApiError> {
    reject_legacy(input, &["KeyConditions", "QueryFilter", "AttributesToGet", "ConditionalOperator"])?;
    let meta = table(state, required_str(input, "TableName")?).await?;
    let mut attributes = expression_attributes(input)?;
    let key_condition = attributes.key_condition(required_str(input, "KeyConditionExpression").map_err(|_| {
        DynamoError::validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
    })?)?;
    let options = parse_read(input, &meta, &mut attributes)?;
    attributes.finish()?;
    let index = options.index;
    let (hash, range) = match index {
        Some(index) => (&index.hash, index.range.as_ref()),
        None => (&meta.hash, meta.range.as_ref()),
    };
    let key_query: KeyQuery = key_condition.for_schema(hash.as_model(), range.map(KeyAttribute::as_model))?;
    if let Some(filter) = &options.filter {
        let keys: Vec<&str> = std::iter::once(hash.name.as_str()).chain(range.map(|r| r.name.as_str())).collect();
        if let Some(path) = filter.paths().into_iter().find(|p| keys.contains(&p.head())) {
            return Err(DynamoError::validation(format!(
                "Filter Expression can only contain non-primary key attributes: Primary key attribute: {}",
                path.head()
            ))
            .into());
        }
    }
    let (lower, upper) = match &key_query.sort_key {
        Some(op) => normalise(op.encoded_bounds()),
        None => (Vec::new(), None),
    };
    let partition = store::encode_key_value(&key_query.partition_key);
    let source = match index {
        Some(index) => Source::IndexQuery { index, ipk: partition, lower, upper },
        None => Source::TableQuery { pk: partition, lower, upper },
    };
    let (limit, exclusive_start) = parse_common(input)?;
    let forward = input.get("ScanIndexForward").and_then(Value::as_bool).unwrap_or(true);
    run(state, ReadRequest { meta: &meta, options, limit, exclusive_start, forward }, source).await
}

pub async fn scan(state: &State, input: &Value) -> Result<Value, ApiError> {
    reject_legacy(input, &["ScanFilter", "AttributesToGet", "ConditionalOperator"])?;
    let meta = table(state, required_str(input, "TableName")?).await?;
    let mut attributes = expression_attributes(input)?;
    let options = parse_read(input, &meta, &mut attributes)?;
    attributes.finish()?;
    let segment = input.get("Segment").and_then(Value::as_i64);
    let total = input.get("TotalSegments").and_then(Value::as_i64);
    let segment_range = match (segment, total) {
        (None, None) => None,
        (Some(segment), Some(total)) if (1..=1_000_000).contains(&total) && (0..total).contains(&segment) => {
            Some((segment * SEGMENT_SPACE / total, (segment + 1) * SEGMENT_SPACE / total))
        }
        (Some(_), Some(_)) => {
            return Err(DynamoError::validation(
                "The Segment parameter is zero-based and must be less than parameter TotalSegments",
            )
            .into());
        }
        _ => {
            return Err(DynamoError::validation(
                "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
            )
            .into());
        }
    };
    let source = match options.index {
        Some(index) => Source::IndexScan { index, segment: segment_range },
        None => {
            let (first, end) = segment_range.unwrap_or((0, SEGMENT_SPACE));
            Source::TableScan { first_segment: first as i32, end_segment: end as i32 }
        }
    };
    let (limit, exclusive_start) = parse_common(input)?;
    run(state, ReadRequest { meta: &meta, options, limit, exclusive_start, forward: true }, source).await
}
