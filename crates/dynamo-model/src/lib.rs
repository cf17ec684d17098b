//! DynamoDB's data model without I/O: attribute values and items in the JSON wire shape,
//! number semantics, error shapes, and (in later modules) key encoding and expressions.

pub mod error;
pub mod number;
pub mod value;

pub use error::{DynamoError, ErrorKind, Result};
pub use number::{Number, NumberError};
pub use value::{AttributeValue, Item, ValueType, item_from_json, item_to_json};
