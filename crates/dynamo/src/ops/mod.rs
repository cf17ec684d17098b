//! DynamoDB operations, one function per `X-Amz-Target`.

pub mod table;

use dynamo_model::{DynamoError, ErrorKind};
use serde_json::Value;

use crate::error::ApiError;
use crate::sigv4::Caller;
use crate::state::State;

pub async fn dispatch(state: &State, caller: &Caller, operation: &str, input: Value) -> Result<Value, ApiError> {
    match operation {
        "CreateTable" => table::create_table(state, caller, &input).await,
        "DescribeTable" => table::describe_table(state, caller, &input).await,
        "ListTables" => table::list_tables(state, &input).await,
        "DeleteTable" => table::delete_table(state, caller, &input).await,
        "UpdateTable" => table::update_table(state, caller, &input).await,
        "UpdateTimeToLive" => table::update_time_to_live(state, &input).await,
        "DescribeTimeToLive" => table::describe_time_to_live(state, &input).await,
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
