//! DynamoDB error shapes: the `__type` the AWS SDKs dispatch on plus the message text.

use serde::Serialize;

/// The kinds of error a DynamoDB endpoint reports. The SDK picks the exception class from the
/// part of `__type` after `#`, so the prefixes follow what DynamoDB itself sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Validation,
    Serialization,
    ConditionalCheckFailed,
    ResourceNotFound,
    ResourceInUse,
    LimitExceeded,
    TransactionCanceled,
    TransactionConflict,
    IdempotentParameterMismatch,
    ProvisionedThroughputExceeded,
    ItemCollectionSizeLimitExceeded,
    UnknownOperation,
    MissingAuthenticationToken,
    IncompleteSignature,
    InvalidSignature,
    UnrecognizedClient,
    AccessDenied,
    Throttling,
    InternalServerError,
}

impl ErrorKind {
    /// The full `__type` value of the JSON error body.
    pub fn type_name(self) -> &'static str {
        use ErrorKind::*;
        match self {
            Validation => "com.amazon.coral.validate#ValidationException",
            Serialization => "com.amazon.coral.service#SerializationException",
            UnknownOperation => "com.amazon.coral.service#UnknownOperationException",
            MissingAuthenticationToken => {
                "com.amazon.coral.service#MissingAuthenticationTokenException"
            }
            IncompleteSignature => "com.amazon.coral.service#IncompleteSignatureException",
            InvalidSignature => "com.amazon.coral.service#InvalidSignatureException",
            UnrecognizedClient => "com.amazon.coral.service#UnrecognizedClientException",
            AccessDenied => "com.amazon.coral.service#AccessDeniedException",
            Throttling => "com.amazon.coral.availability#ThrottlingException",
            ConditionalCheckFailed => {
                "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
            }
            ResourceNotFound => "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
            ResourceInUse => "com.amazonaws.dynamodb.v20120810#ResourceInUseException",
            LimitExceeded => "com.amazonaws.dynamodb.v20120810#LimitExceededException",
            TransactionCanceled => "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            TransactionConflict => "com.amazonaws.dynamodb.v20120810#TransactionConflictException",
            IdempotentParameterMismatch => {
                "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException"
            }
            ProvisionedThroughputExceeded => {
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
            }
            ItemCollectionSizeLimitExceeded => {
                "com.amazonaws.dynamodb.v20120810#ItemCollectionSizeLimitExceededException"
            }
            InternalServerError => "com.amazonaws.dynamodb.v20120810#InternalServerError",
        }
    }

    /// The short name after `#`, as used in `CancellationReasons[].Code` (without the
    /// `Exception` suffix there, see [`ErrorKind::cancellation_code`]).
    pub fn short_name(self) -> &'static str {
        let full = self.type_name();
        &full[full.find('#').map_or(0, |i| i + 1)..]
    }

    /// The `Code` DynamoDB puts in a `TransactionCanceledException` cancellation reason.
    pub fn cancellation_code(self) -> &'static str {
        match self {
            ErrorKind::ConditionalCheckFailed => "ConditionalCheckFailed",
            ErrorKind::TransactionConflict => "TransactionConflict",
            ErrorKind::ItemCollectionSizeLimitExceeded => "ItemCollectionSizeLimitExceeded",
            ErrorKind::ProvisionedThroughputExceeded => "ProvisionedThroughputExceeded",
            ErrorKind::Throttling => "ThrottlingError",
            _ => "ValidationError",
        }
    }

    /// HTTP status DynamoDB answers with for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InternalServerError => 500,
            _ => 400,
        }
    }
}

/// An error as DynamoDB reports it: `{"__type": "...#ValidationException", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.short_name())]
pub struct DynamoError {
    pub kind: ErrorKind,
    pub message: String,
}

/// JSON body of an error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    #[serde(rename = "__type")]
    pub type_name: &'static str,
    pub message: &'a str,
}

impl DynamoError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        DynamoError {
            kind,
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Serialization, message)
    }

    /// The error DynamoDB returns when a ConditionExpression evaluates to false.
    pub fn conditional_check_failed() -> Self {
        Self::new(
            ErrorKind::ConditionalCheckFailed,
            "The conditional request failed",
        )
    }

    /// Prefixes DynamoDB puts before value validation errors in items and keys.
    pub fn invalid_parameter(detail: impl AsRef<str>) -> Self {
        Self::validation(format!(
            "One or more parameter values were invalid: {}",
            detail.as_ref()
        ))
    }

    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            type_name: self.kind.type_name(),
            message: &self.message,
        }
    }

    /// The JSON error body, ready to send with `Content-Type: application/x-amz-json-1.0`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.body()).expect("error body always serializes")
    }
}

pub type Result<T, E = DynamoError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_type_and_message() {
        let e = DynamoError::conditional_check_failed();
        assert_eq!(
            e.to_json(),
            r##"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"##
        );
        assert_eq!(e.kind.short_name(), "ConditionalCheckFailedException");
        assert_eq!(ErrorKind::Validation.short_name(), "ValidationException");
    }
}
