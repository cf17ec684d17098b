//! An error response: DynamoDB's `__type` and message plus the extra members some errors carry
//! (`CancellationReasons` of TransactionCanceledException, `Item` with
//! ReturnValuesOnConditionCheckFailure).

use dynamo_model::{DynamoError, ErrorKind};
use serde_json::{Map, Value};

#[derive(Debug)]
pub struct ApiError {
    pub error: DynamoError,
    pub extra: Map<String, Value>,
}

impl ApiError {
    pub fn kind(&self) -> ErrorKind {
        self.error.kind
    }

    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.extra.insert(name.to_owned(), value);
        self
    }

    pub fn body(&self) -> String {
        let mut body = Map::new();
        body.insert("__type".into(), Value::String(self.error.kind.type_name().into()));
        body.insert("message".into(), Value::String(self.error.message.clone()));
        // DynamoDB spells it "Message" for TransactionCanceledException.
        if self.error.kind == ErrorKind::TransactionCanceled {
            body.insert("Message".into(), Value::String(self.error.message.clone()));
        }
        body.extend(self.extra.clone());
        Value::Object(body).to_string()
    }
}

impl From<DynamoError> for ApiError {
    fn from(error: DynamoError) -> Self {
        ApiError { error, extra: Map::new() }
    }
}

pub fn internal(message: impl std::fmt::Display) -> DynamoError {
    DynamoError::new(ErrorKind::InternalServerError, format!("Internal server error: {message}"))
}
