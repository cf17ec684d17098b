//! DynamoDB's data model without I/O: attribute values and items in the JSON wire shape,
//! number semantics, error shapes, key encoding and validation, item sizes, and the
//! expression language (conditions, filters, key conditions, updates, projections).

pub mod error;
pub mod expr;
pub mod key;
pub mod number;
pub mod path;
mod reserved;
pub mod value;

pub use error::{DynamoError, ErrorKind, Result};
pub use expr::{
    Condition, ExpressionAttributes, ExpressionKind, KeyCondition, KeyQuery, Projection, SortKeyOp,
    UpdateExpression,
};
pub use key::{
    KeyAttribute, check_item_size, check_updated_item_size, encode_partition_key, encode_sort_key,
    item_size, partition_hash, validate_item_key, validate_key,
};
pub use number::{Number, NumberError};
pub use path::{Path, PathElement, project_paths};
pub use reserved::is_reserved;
pub use value::{AttributeValue, Item, ValueType, item_from_json, item_to_json};
