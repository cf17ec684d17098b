//! DynamoDB operations, one function per `X-Amz-Target`.

pub mod batch;
pub mod item;
pub mod read;
pub mod table;
pub mod transact;

use dynamo_model::{DynamoError, ErrorKind, ExpressionAttributes, Item, item_from_json};
use serde_json::Value;

use crate::error::ApiError;
use crate::sigv4::Caller;
use crate::state::State;
use crate::store::{self, db_error, pool_error};

pub async fn dispatch(state: &State, caller: &Caller, operation: &str, input: Value) -> Result<Value, ApiError> {
    match operation {
        "CreateTable" => table::create_table(state, caller, &input).await,
        "DescribeTable" => table::describe_table(state, caller, &input).await,
        "ListTables" => table::list_tables(state, &input).await,
        "DeleteTable" => table::delete_table(state, caller, &input).await,
        "UpdateTable" => table::update_table(state, caller, &input).await,
        "UpdateTimeToLive" => table::update_time_to_live(state, &input).await,
        "DescribeTimeToLive" => table::describe_time_to_live(state, &input).await,
        "GetItem" => item::get_item(state, &input).await,
        "PutItem" => item::put_item(state, &input).await,
        "UpdateItem" => item::update_item(state, &input).await,
        "DeleteItem" => item::delete_item(state, &input).await,
        "Query" => read::query(state, &input).await,
        "Scan" => read::scan(state, &input).await,
        "BatchGetItem" => batch::batch_get_item(state, &input).await,
        "BatchWriteItem" => batch::batch_write_item(state, &input).await,
        "TransactWriteItems" => transact::transact_write_items(state, &input).await,
        "TransactGetItems" => transact::transact_get_items(state, &input).await,
        _ => Err(DynamoError::new(ErrorKind::UnknownOperation, "").into()),
    }
}

/// A required string member of the request.
pub fn required_str<'a>(input: &'a Value, name: &str) -> Result<&'a str, DynamoError> {
    match input.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(DynamoError::serialization(format!("Expected a string for {name}"))),
        None => Err(DynamoError::validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(name)
        ))),
    }
}

pub fn optional_str<'a>(input: &'a Value, name: &str) -> Result<Option<&'a str>, DynamoError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(DynamoError::serialization(format!("Expected a string for {name}"))),
    }
}

pub fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// An item-shaped member (`Item`, `Key`, `ExclusiveStartKey`), absent = None.
pub fn optional_item(input: &Value, name: &str) -> Result<Option<Item>, DynamoError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(json) => item_from_json(json).map(Some).map_err(|e| match e.kind {
            ErrorKind::Validation if !e.message.starts_with("One or more parameter values") => {
                DynamoError::invalid_parameter(e.message)
            }
            _ => e,
        }),
    }
}

pub fn required_item(input: &Value, name: &str) -> Result<Item, DynamoError> {
    optional_item(input, name)?.ok_or_else(|| {
        DynamoError::validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(name)
        ))
    })
}

/// One of the allowed values of an enum member, or its default when absent.
pub fn enum_member<'a>(input: &'a Value, name: &str, allowed: &[&'a str], default: &'a str) -> Result<&'a str, DynamoError> {
    let value = optional_str(input, name)?.unwrap_or(default);
    if allowed.contains(&value) {
        Ok(value)
    } else {
        Err(DynamoError::validation(format!(
            "1 validation error detected: Value '{value}' at '{}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            lower_first(name),
            allowed.join(", ")
        )))
    }
}

/// The ExpressionAttributeNames/Values of a request (or of one transaction item).
pub fn expression_attributes(input: &Value) -> Result<ExpressionAttributes, DynamoError> {
    ExpressionAttributes::from_json(input.get("ExpressionAttributeNames"), input.get("ExpressionAttributeValues"))
}

/// Refuses the legacy (pre-expression) parameters this server does not implement.
pub fn reject_legacy(input: &Value, names: &[&str]) -> Result<(), DynamoError> {
    for name in names {
        if input.get(*name).is_some_and(|v| !v.is_null()) {
            return Err(DynamoError::validation(format!(
                "The legacy parameter {name} is not supported by this server; use the expression parameters instead"
            )));
        }
    }
    Ok(())
}

/// A PostgreSQL transaction on a pooled connection, begun without waiting for BEGIN's reply.
/// Dropped while still open (the request was abandoned mid-way), it closes the connection
/// instead of returning it to the pool, so PostgreSQL rolls the transaction back.
pub(crate) struct OpenTransaction {
    client: Option<deadpool_postgres::Object>,
}

impl OpenTransaction {
    /// A pooled connection with the item statements prepared, for a transaction to begin on.
    pub(crate) async fn start(state: &State) -> Result<(OpenTransaction, store::Statements), DynamoError> {
        let client = state.pool.get().await.map_err(pool_error)?;
        let statements = store::Statements::prepare(&client).await?;
        Ok((OpenTransaction { client: Some(client) }, statements))
    }

    pub(crate) fn client(&self) -> &deadpool_postgres::Object {
        self.client.as_ref().expect("open until finished")
    }

    /// BEGIN or COMMIT, sent when first polled so it pipelines with the statements around it.
    pub(crate) async fn command(&self, sql: &str) -> Result<(), DynamoError> {
        self.client().batch_execute(sql).await.map_err(db_error)
    }

    async fn rollback(mut self) {
        let client = self.client.take().expect("open until finished");
        if client.batch_execute("ROLLBACK").await.is_err() {
            drop(deadpool_postgres::Object::take(client));
        }
    }

    /// The transaction has ended (committed or rolled back): the connection goes back.
    fn finish(mut self) {
        self.client.take();
    }

    /// After COMMIT succeeded the connection goes back; after a failure the transaction is
    /// rolled back, which is harmless when the failure came after COMMIT was sent.
    pub(crate) async fn settle<T, E: Into<ApiError>>(self, outcome: Result<T, E>) -> Result<T, ApiError> {
        match outcome {
            Ok(value) => {
                self.finish();
                Ok(value)
            }
            Err(error) => {
                self.rollback().await;
                Err(error.into())
            }
        }
    }
}

impl Drop for OpenTransaction {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}
